package dev.fanout.redis;

import java.nio.charset.StandardCharsets;

/**
 * Redis Cluster's key slot: CRC16 (XMODEM: polynomial 0x1021, initial value 0, no reflection,
 * no final xor) of the key's UTF-8 bytes, modulo 16384. When the key holds a hash tag (the
 * bytes between its first {@code '{'} and the first {@code '}'} after it, if there is at least
 * one), only the tag is hashed, so keys sharing a tag share a slot. Pure.
 */
final class KeySlot {
  /** Slots in a Redis Cluster. */
  static final int SLOTS = 16384;

  private static final int[] TABLE = table();

  private KeySlot() {}

  /** The slot of {@code key}, with the hash-tag rule, as {@code CLUSTER KEYSLOT} answers. */
  static int of(String key) {
    byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
    int open = indexOf(bytes, (byte) '{', 0);
    if (open >= 0) {
      int close = indexOf(bytes, (byte) '}', open + 1);
      if (close > open + 1) {
        return crc16(bytes, open + 1, close) & (SLOTS - 1);
      }
    }
    return crc16(bytes, 0, bytes.length) & (SLOTS - 1);
  }

  /** The slot of {@code text}'s UTF-8 bytes taken whole: no hash-tag rule. */
  static int ofWhole(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    return crc16(bytes, 0, bytes.length) & (SLOTS - 1);
  }

  /** CRC16/XMODEM of {@code bytes[from..to)}. */
  static int crc16(byte[] bytes, int from, int to) {
    return crc16(0, bytes, from, to);
  }

  /** The CRC16/XMODEM {@code crc} of some bytes, continued over {@code bytes[from..to)}. */
  static int crc16(int crc, byte[] bytes, int from, int to) {
    for (int i = from; i < to; i++) {
      crc = ((crc << 8) ^ TABLE[((crc >>> 8) ^ bytes[i]) & 0xff]) & 0xffff;
    }
    return crc;
  }

  private static int indexOf(byte[] bytes, byte b, int from) {
    for (int i = from; i < bytes.length; i++) {
      if (bytes[i] == b) {
        return i;
      }
    }
    return -1;
  }

  private static int[] table() {
    int[] t = new int[256];
    for (int i = 0; i < 256; i++) {
      int crc = i << 8;
      for (int bit = 0; bit < 8; bit++) {
        crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
      }
      t[i] = crc & 0xffff;
    }
    return t;
  }
}
