package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class WriteRefusalTest {
  private static String info(String... lines) {
    return "# Memory\r\n" + String.join("\r\n", lines) + "\r\n";
  }

  @Test
  void overMaxmemoryWithNoevictionRefusesWrites() {
    assertThat(WriteRefusal.of(info("used_memory:2000", "maxmemory:1000",
        "maxmemory_policy:noeviction", "mem_not_counted_for_evict:0")))
        .contains("over maxmemory (2000 of 1000 bytes, maxmemory-policy noeviction)");
  }

  @Test
  void memoryNotCountedForEvictionAnEvictingPolicyOrNoLimitRefuseNothing() {
    assertThat(WriteRefusal.of(info("used_memory:2000", "maxmemory:1000",
        "maxmemory_policy:noeviction", "mem_not_counted_for_evict:1500"))).isNull();
    assertThat(WriteRefusal.of(info("used_memory:2000", "maxmemory:1000",
        "maxmemory_policy:allkeys-lru"))).isNull();
    assertThat(WriteRefusal.of(info("used_memory:2000", "maxmemory:0",
        "maxmemory_policy:noeviction"))).isNull();
    assertThat(WriteRefusal.of("")).isNull();
  }

  @Test
  void aFailedSaveOrAofWriteIsMisconf() {
    assertThat(WriteRefusal.of(info("rdb_last_bgsave_status:err"))).contains("MISCONF");
    assertThat(WriteRefusal.of(info("rdb_last_bgsave_status:ok", "aof_last_write_status:err")))
        .contains("AOF").contains("MISCONF");
    assertThat(WriteRefusal.of(info("rdb_last_bgsave_status:ok", "aof_last_write_status:ok")))
        .isNull();
  }

  @Test
  void redisIsAskedAtMostOncePerIntervalAndAFailedReadKeepsTheLastAnswer() {
    AtomicLong clock = new AtomicLong();
    List<String> answers = new ArrayList<>(List.of("full", "boom", "ok"));
    int[] asked = {0};
    WriteRefusal w = new WriteRefusal(() -> {
      asked[0]++;
      String a = answers.remove(0);
      if (a.equals("boom")) {
        throw new IllegalStateException("no answer");
      }
      return a.equals("ok") ? null : a;
    }, clock::get, TimeUnit.SECONDS.toNanos(2));
    assertThat(w.now()).isEqualTo("full");
    clock.addAndGet(TimeUnit.SECONDS.toNanos(1));
    assertThat(w.now()).isEqualTo("full");
    assertThat(asked[0]).isEqualTo(1);
    clock.addAndGet(TimeUnit.SECONDS.toNanos(1));
    assertThat(w.now()).as("a failed read keeps the last answer").isEqualTo("full");
    clock.addAndGet(TimeUnit.SECONDS.toNanos(2));
    assertThat(w.now()).isNull();
    assertThat(asked[0]).isEqualTo(3);
  }
}
