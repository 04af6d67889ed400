import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The paced load of `modelwatch bench ingest` with Kafka's own producer (run by `java` from source,
 * with the broker's jars on the class path): the same ~1 KB events as `benchEvent` in
 * src/collectors/bench-events.ts, byte for byte (a test holds the two together), one batch every
 * 100 ms stamped with its send time. The producer is the load, not what is measured: in Node it
 * took ~0.7 of the machine's two cores at 30,000 events/s, which the service then did not have.
 *
 * <pre>
 * java -cp 'LIBS/*' BenchProducer.java --bootstrap HOST:PORT --topic T --rate R --seconds S --first F
 * java -cp 'LIBS/*' BenchProducer.java --print N --first F --timestamp MS
 * </pre>
 *
 * Prints one JSON line at the end: {"produced":N,"cpu_seconds":S}.
 */
public final class BenchProducer {
  private static final int NUMERIC_FEATURES = 52;
  private static final int STRING_FEATURES = 6;
  private static final int FEATURE_VARIANTS = 10_007;
  private static final String[] FEATURE_TEXT = new String[FEATURE_VARIANTS];

  /** `JSON.stringify` of the event's features (see `features` in bench-events.ts). */
  static String features(long i) {
    int variant = (int) (i % FEATURE_VARIANTS);
    String text = FEATURE_TEXT[variant];
    if (text != null) return text;
    StringBuilder out = new StringBuilder(640).append('{');
    for (int f = 0; f < NUMERIC_FEATURES; f++) {
      long cents = Math.round(((variant * 7919L + f * 104729L) % 100_000) * 1.37);
      out.append("\"f").append(f).append("\":").append(decimal(cents, 100)).append(',');
    }
    for (int s = 0; s < STRING_FEATURES; s++) {
      out.append("\"s").append(s).append("\":\"cat-").append((variant + s) % 17).append('"');
      if (s < STRING_FEATURES - 1) out.append(',');
    }
    text = out.append('}').toString();
    FEATURE_TEXT[variant] = text;
    return text;
  }

  /**
   * `units / scale` as JavaScript prints it, for scale 100 or 1000: the shortest decimal that reads
   * back as the same double, which for these magnitudes is the exact quotient without trailing zeros.
   */
  static String decimal(long units, int scale) {
    long whole = units / scale;
    long fraction = units % scale;
    if (fraction == 0) return Long.toString(whole);
    String digits = Long.toString(fraction + scale).substring(1).replaceFirst("0+$", "");
    return whole + "." + digits;
  }

  /** `benchEvent(i, timestamp)`. */
  static String event(long i, long timestamp) {
    return "{\"prediction_id\":\"bench-" + i + "\",\"model_id\":\"bench-model\",\"model_version\":\"1\",\"timestamp\":"
        + timestamp + ",\"features\":" + features(i) + ",\"prediction\":" + (i % 2) + ",\"score\":"
        + decimal(i % 1000, 1000) + ",\"latency_ms\":" + (3 + (i % 40)) + ",\"status\":\""
        + (i % 100 == 0 ? "error" : "ok") + "\",\"entity_id\":\"entity-" + (i % 10_000) + "\",\"request_id\":\"req-"
        + i + "\"}";
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = new HashMap<>();
    for (int k = 0; k + 1 < argv.length; k += 2) args.put(argv[k].replaceFirst("^--", ""), argv[k + 1]);
    long first = Long.parseLong(args.getOrDefault("first", "0"));
    if (args.containsKey("print")) {
      long timestamp = Long.parseLong(args.get("timestamp"));
      long count = Long.parseLong(args.get("print"));
      StringBuilder out = new StringBuilder();
      for (long i = first; i < first + count; i++) out.append(event(i, timestamp)).append('\n');
      System.out.print(out);
      return;
    }
    long produced = paced(args.get("bootstrap"), args.get("topic"), Integer.parseInt(args.get("rate")),
        Double.parseDouble(args.get("seconds")), first, args.getOrDefault("max-block-ms", "10000"));
    double cpu = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime() / 1e9;
    System.out.println("{\"produced\":" + produced + ",\"cpu_seconds\":" + cpu + "}");
  }

  /** As `producePaced`: every 100 ms one batch of rate/10 events, sent and acknowledged before the next. */
  static long paced(String bootstrap, String topic, int rate, double seconds, long first, String maxBlockMs)
      throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("acks", "1");
    props.put("enable.idempotence", "false");
    props.put("linger.ms", "5");
    props.put("batch.size", String.valueOf(512 * 1024));
    props.put("max.request.size", String.valueOf(16 * 1024 * 1024));
    // A broker out of reach ends the run within seconds, not the client's default minute or two.
    props.put("max.block.ms", maxBlockMs);
    props.put("request.timeout.ms", "10000");
    props.put("delivery.timeout.ms", "30000");
    int perTick = Math.max(1, (int) Math.round(rate / 10.0));
    long ticks = Math.round(seconds * 10);
    AtomicReference<Exception> failed = new AtomicReference<>();
    AtomicLong acknowledged = new AtomicLong();
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      long start = System.nanoTime();
      for (long t = 0; t < ticks; t++) {
        for (int j = 0; j < perTick; j++) {
          byte[] value = event(first + t * perTick + j, System.currentTimeMillis()).getBytes(StandardCharsets.UTF_8);
          producer.send(new ProducerRecord<>(topic, value), (metadata, err) -> {
            if (err != null) failed.compareAndSet(null, err);
            else acknowledged.incrementAndGet();
          });
        }
        producer.flush();
        if (failed.get() != null) throw failed.get();
        long wait = start + (t + 1) * 100_000_000L - System.nanoTime();
        if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      }
    }
    return acknowledged.get();
  }
}
