package dev.fanout.redis;

import java.util.List;

/** The values docs/redis.md shows, so the docs and the code cannot drift apart. */
final class DocumentedTags {
  static final List<String> PAYMENTS_16 = List.of(
      "payments:0:26927",
      "payments:1:2781",
      "payments:2:138",
      "payments:3:22716",
      "payments:4:9843",
      "payments:5:63876",
      "payments:6:24218",
      "payments:7:1572",
      "payments:8:7169",
      "payments:9:8745",
      "payments:10:8798",
      "payments:11:8823",
      "payments:12:2629",
      "payments:13:2992",
      "payments:14:6093",
      "payments:15:14089");
  static final int MCH_1_OF_16 = 12;

  private DocumentedTags() {}
}
