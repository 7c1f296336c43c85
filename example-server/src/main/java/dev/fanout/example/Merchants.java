package dev.fanout.example;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.fanout.protocol.Authentication;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The merchants the example server knows, by id (the events' topic) with a display name: the
 * payment service's directory, which the demo generator publishes for and the page offers as
 * filters ({@code GET /merchants}). A real server would read it from its merchant database.
 */
record Merchants(Map<String, String> names) {
  Merchants {
    names = Collections.unmodifiableMap(new LinkedHashMap<>(names));
    if (names.isEmpty()) {
      throw new IllegalArgumentException("a merchant directory needs at least one merchant");
    }
  }

  /** The demo's dozen, {@code mch_01} to {@code mch_12}. */
  static Merchants demo() {
    String[] names = {"Atlas Books", "Bluebird Coffee", "Copperline Bikes", "Dune Outdoor",
        "Ember Kitchen", "Fjord Travel", "Granite Tools", "Harbor Pharmacy", "Indigo Fashion",
        "Juniper Garden", "Kestrel Games", "Lumen Electronics"};
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < names.length; i++) {
      m.put(String.format("mch_%02d", i + 1), names[i]);
    }
    return new Merchants(m);
  }

  List<String> ids() {
    return List.copyOf(names.keySet());
  }

  /**
   * {"merchants":[{"id":..,"name":..}..]}: the directory as {@code viewer} may see it, in the
   * directory's order; merchants a token names that the directory does not know come last, by
   * id alone (the token is the authority on what its holder may see, not the directory).
   */
  String json(Authentication viewer) {
    JsonArray list = new JsonArray();
    Set<String> scope = viewer.scope().isAll() ? null : viewer.scope().topics();
    names.forEach((id, name) -> {
      if (scope == null || scope.contains(id)) {
        list.add(entry(id, name));
      }
    });
    if (scope != null) {
      List<String> unknown = new ArrayList<>(scope);
      unknown.removeAll(names.keySet());
      unknown.stream().sorted().forEach(id -> list.add(entry(id, null)));
    }
    JsonObject o = new JsonObject();
    o.add("merchants", list);
    return o.toString();
  }

  private static JsonObject entry(String id, String name) {
    JsonObject e = new JsonObject();
    e.addProperty("id", id);
    if (name != null) {
      e.addProperty("name", name);
    }
    return e;
  }
}
