package dev.playpipe.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.TimestampExtractor;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The benchmark's QoE job written with Kafka Streams: the same job as
 * bench/aggregate/quix_job.py (read its docstring for what is counted and why).
 *
 * <p>1. A processor with a key-value store per view (the input is keyed by view id): each event
 * attributes the time since the view's previous event to the state the view was in, split at
 * window boundaries, and counts its facts; it forwards one "piece" per window touched, keyed by
 * cdn|country|device, timestamped at the window's start. 2. Repartition by that key, 10 s
 * tumbling windows with a grace, a sum per window, suppressed until the window closes, results
 * in the shape of playpipe's metric records.
 *
 * <p>Run: {@code java -jar qoe-kstreams.jar --bootstrap B --input T --output O --group G
 * --state-dir D [--grace-ms N] [--partition-fetch-bytes N]}. Prints the records dropped as late when it stops (SIGTERM).
 */
public final class QoeJob {
  static final long WINDOW_MS = 10_000;
  static final int IDLE = 0, STARTUP = 1, PLAYING = 2, PAUSED = 3, SEEKING = 4, REBUFFERING = 5,
      ENDED = 6;
  // Piece layout: [window start, then the sums below].
  static final int U = 0, P = 1, R = 2, S = 3, BM = 4, BS = 5, C = 6, A = 7, ST = 8, RB = 9;
  static final int SUMS = 10;
  static final ObjectMapper JSON = new ObjectMapper();

  private QoeJob() {}

  /** One view's state between its events. */
  static final class View {
    int state = IDLE;
    long attributedTo;
    long bitrate = -1;
    long countedIn = -1;
    String key;
    int pre = PLAYING;
    boolean started;

    byte[] encode() {
      byte[] k = key.getBytes(StandardCharsets.UTF_8);
      return ByteBuffer.allocate(4 + 8 + 8 + 8 + 4 + 1 + k.length)
          .putInt(state)
          .putLong(attributedTo)
          .putLong(bitrate)
          .putLong(countedIn)
          .putInt(pre)
          .put((byte) (started ? 1 : 0))
          .put(k)
          .array();
    }

    static View decode(byte[] data) {
      ByteBuffer buf = ByteBuffer.wrap(data);
      View v = new View();
      v.state = buf.getInt();
      v.attributedTo = buf.getLong();
      v.bitrate = buf.getLong();
      v.countedIn = buf.getLong();
      v.pre = buf.getInt();
      v.started = buf.get() == 1;
      byte[] k = new byte[buf.remaining()];
      buf.get(k);
      v.key = new String(k, StandardCharsets.UTF_8);
      return v;
    }
  }

  static int timeField(int state) {
    switch (state) {
      case STARTUP:
        return U;
      case PLAYING:
        return P;
      case REBUFFERING:
        return R;
      case SEEKING:
        return S;
      default:
        return -1;
    }
  }

  static boolean active(int state) {
    return state == STARTUP || state == PLAYING || state == REBUFFERING;
  }

  /** The per-view processor: events in, window pieces out. */
  static final class PerView implements Processor<String, JsonNode, String, long[]> {
    private ProcessorContext<String, long[]> context;
    private KeyValueStore<String, byte[]> store;

    @Override
    public void init(ProcessorContext<String, long[]> context) {
      this.context = context;
      this.store = context.getStateStore("views");
    }

    private static long[] piece(Map<Long, long[]> pieces, long ws) {
      return pieces.computeIfAbsent(ws, w -> {
        long[] p = new long[1 + SUMS];
        p[0] = w;
        return p;
      });
    }

    private static void attribute(View v, long ts, Map<Long, long[]> pieces) {
      long start = v.attributedTo;
      if (ts <= start) {
        return;
      }
      v.attributedTo = ts;
      int field = timeField(v.state);
      boolean isActive = active(v.state);
      if (field < 0 && !isActive) {
        return;
      }
      for (long ws = start - start % WINDOW_MS; ws < ts; ws += WINDOW_MS) {
        long[] p = piece(pieces, ws);
        long d = Math.min(ts, ws + WINDOW_MS) - Math.max(start, ws);
        if (field >= 0) {
          p[1 + field] += d;
        }
        if (v.state == PLAYING && v.bitrate >= 0) {
          p[1 + BM] += d;
          p[1 + BS] += v.bitrate * d;
        }
        if (isActive && v.countedIn < ws) {
          v.countedIn = ws;
          p[1 + C] += 1;
        }
      }
    }

    private static void to(View v, long ts, int state, Map<Long, long[]> pieces) {
      attribute(v, ts, pieces);
      v.state = state;
    }

    private static void fact(long ts, int field, Map<Long, long[]> pieces) {
      piece(pieces, ts - ts % WINDOW_MS)[1 + field] += 1;
    }

    private static String dim(JsonNode event, String node, String field) {
      JsonNode value = event.path(node).path(field);
      return value.isMissingNode() || value.isNull() ? "None" : value.asText();
    }

    @Override
    public void process(Record<String, JsonNode> record) {
      JsonNode event = record.value();
      long ts = event.get("event_ts").asLong();
      byte[] saved = store.get(record.key());
      View v;
      if (saved == null) {
        v = new View();
        v.attributedTo = ts;
        v.key = dim(event, "network", "cdn") + "|" + dim(event, "geo", "country") + "|"
            + dim(event, "device", "type");
      } else {
        v = View.decode(saved);
      }
      Map<Long, long[]> pieces = new LinkedHashMap<>();
      JsonNode kbps = event.path("fluxdata").path("bitrate_kbps");
      if (kbps.isNumber()) {
        long bps = (long) (kbps.asDouble() * 1000 + 0.5);
        if (bps != v.bitrate) {
          attribute(v, ts, pieces);
          v.bitrate = bps;
        }
      }
      String kind = event.get("event_type").asText();
      int s = v.state;
      if (kind.equals("play_requested") && s == IDLE) {
        to(v, ts, STARTUP, pieces);
        fact(ts, A, pieces);
      } else if (kind.equals("first_frame") && !v.started && (s == IDLE || s == STARTUP)) {
        if (s == IDLE) { // autoplay: the intent is at the first event
          fact(ts, A, pieces);
        }
        to(v, ts, PLAYING, pieces);
        v.started = true;
        fact(ts, ST, pieces);
      } else if (kind.equals("playing") && (s == PAUSED || s == SEEKING || s == REBUFFERING)) {
        to(v, ts, PLAYING, pieces);
      } else if (kind.equals("paused") && (s == PLAYING || s == REBUFFERING || s == SEEKING)) {
        to(v, ts, PAUSED, pieces);
      } else if (kind.equals("seek_start") && (s == PLAYING || s == PAUSED || s == REBUFFERING)) {
        v.pre = s == PAUSED ? PAUSED : PLAYING;
        to(v, ts, SEEKING, pieces);
      } else if (kind.equals("seek_end") && s == SEEKING) {
        to(v, ts, v.pre, pieces);
      } else if (kind.equals("rebuffer_start") && s == PLAYING) {
        to(v, ts, REBUFFERING, pieces);
        fact(ts, RB, pieces);
      } else if (kind.equals("rebuffer_end") && s == REBUFFERING) {
        to(v, ts, PLAYING, pieces);
      } else if ((kind.equals("ended") && (s == PLAYING || s == PAUSED || s == REBUFFERING))
          || kind.equals("view_end")) {
        to(v, ts, ENDED, pieces);
      } else {
        attribute(v, ts, pieces);
      }
      store.put(record.key(), v.encode());
      for (long[] p : pieces.values()) {
        context.forward(new Record<>(v.key, p, p[0]));
      }
    }
  }

  /** Event time is the event's own ``event_ts`` (the value is already deserialized). */
  static final class EventTime implements TimestampExtractor {
    @Override
    public long extract(ConsumerRecord<Object, Object> record, long partitionTime) {
      return ((JsonNode) record.value()).get("event_ts").asLong();
    }
  }

  static Serde<JsonNode> jsonSerde() {
    Serializer<JsonNode> ser = (topic, node) -> {
      try {
        return JSON.writeValueAsBytes(node);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    };
    Deserializer<JsonNode> de = (topic, data) -> {
      try {
        return data == null ? null : JSON.readTree(data);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    };
    return Serdes.serdeFrom(ser, de);
  }

  static Serde<long[]> longsSerde() {
    Serializer<long[]> ser = (topic, values) -> {
      ByteBuffer buf = ByteBuffer.allocate(8 * values.length);
      for (long x : values) {
        buf.putLong(x);
      }
      return buf.array();
    };
    Deserializer<long[]> de = (topic, data) -> {
      if (data == null) {
        return null;
      }
      ByteBuffer buf = ByteBuffer.wrap(data);
      long[] values = new long[data.length / 8];
      for (int i = 0; i < values.length; i++) {
        values[i] = buf.getLong();
      }
      return values;
    };
    return Serdes.serdeFrom(ser, de);
  }

  /** The window in the shape of playpipe's metric records (the fields compared). */
  static String result(Windowed<String> window, long[] t) {
    String[] dims = window.key().split("\\|", -1);
    ObjectNode out = JSON.createObjectNode();
    out.put("cdn", dims[0]);
    out.put("country", dims[1]);
    out.put("device_type", dims[2]);
    out.put("window_start_ms", window.window().start());
    out.put("window_end_ms", window.window().end());
    out.put("attempts", t[A]);
    out.put("starts", t[ST]);
    out.put("concurrent_viewers", t[C]);
    out.put("playing_time_ms", t[P]);
    out.put("rebuffering_time_ms", t[R]);
    out.put("watch_time_ms", t[U] + t[P] + t[R] + t[S]);
    out.put("rebuffer_count", t[RB]);
    long played = t[P] + t[R];
    if (played > 0) {
      out.put("rebuffer_ratio", (double) t[R] / played);
    } else {
      out.putNull("rebuffer_ratio");
    }
    if (t[BM] > 0) {
      out.put("avg_bitrate_kbps", (double) t[BS] / t[BM] / 1000);
    } else {
      out.putNull("avg_bitrate_kbps");
    }
    return out.toString();
  }

  static Map<String, String> parse(String[] args) {
    Map<String, String> out = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("expected --name value pairs, got " + args[i]);
      }
      out.put(args[i].substring(2), args[i + 1]);
    }
    for (String required : new String[] {"bootstrap", "input", "output", "group", "state-dir"}) {
      if (!out.containsKey(required)) {
        throw new IllegalArgumentException("missing --" + required);
      }
    }
    return out;
  }

  public static void main(String[] argv) throws InterruptedException {
    Map<String, String> args = parse(argv);
    long grace = Long.parseLong(args.getOrDefault("grace-ms", "15000"));
    Serde<long[]> longs = longsSerde();

    StreamsBuilder builder = new StreamsBuilder();
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore("views"), Serdes.String(), Serdes.ByteArray()));
    builder.stream(
            args.get("input"),
            Consumed.with(Serdes.String(), jsonSerde()).withTimestampExtractor(new EventTime()))
        .process(PerView::new, "views")
        .repartition(Repartitioned.with(Serdes.String(), longs).withName("dims"))
        .groupByKey(Grouped.with(Serdes.String(), longs))
        .windowedBy(
            TimeWindows.ofSizeAndGrace(Duration.ofMillis(WINDOW_MS), Duration.ofMillis(grace)))
        .aggregate(
            () -> new long[SUMS],
            (key, piece, total) -> {
              for (int i = 0; i < SUMS; i++) {
                total[i] += piece[1 + i];
              }
              return total;
            },
            Materialized.<String, long[], WindowStore<Bytes, byte[]>>as("sums")
                .withKeySerde(Serdes.String())
                .withValueSerde(longs))
        .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
        .toStream()
        .map((window, total) -> KeyValue.pair(
            window.key() + "|" + window.window().start(), result(window, total)))
        .to(args.get("output"), Produced.with(Serdes.String(), Serdes.String()));

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args.get("group"));
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args.get("bootstrap"));
    props.put(StreamsConfig.STATE_DIR_CONFIG, args.get("state-dir"));
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 5000); // as the Quix Streams job
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    // How far ahead one input partition is read (as the Quix job): with the default 1 MB,
    // partitions are minutes apart in event time and the windows drop the slower ones as late.
    props.put(
        StreamsConfig.consumerPrefix(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG),
        Integer.parseInt(args.getOrDefault("partition-fetch-bytes", "16384")));

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      double late = 0; // read before close, which unregisters the tasks' metrics
      for (var entry : streams.metrics().entrySet()) {
        if (entry.getKey().name().equals("dropped-records-total")) {
          late += ((Number) entry.getValue().metricValue()).doubleValue();
        }
      }
      streams.close(Duration.ofSeconds(30));
      System.out.println("late_pieces " + (long) late);
      System.out.flush();
      stopped.countDown();
    }));
    streams.start();
    stopped.await();
  }
}
