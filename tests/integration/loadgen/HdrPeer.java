// A real peer for loadgen's histograms: HdrHistogram's own Java implementation (Debian's
// libhdrhistogram-java), run as a single-file program by tests/integration/loadgen/peers.sh.
//
//   java -cp /usr/share/java/hdrhistogram.jar HdrPeer.java decode BASE64
//       decodes a "HISTFAAA..." histogram and prints: count p50 p90 p99 p99.9 p99.99 p99.999 max
//   java -cp ... HdrPeer.java write-log FILE
//       records a known set of values (microseconds), writes them as an interval log with
//       HistogramLogWriter, and prints the same line for the whole log.
import java.io.File;
import java.nio.ByteBuffer;
import java.util.Base64;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogWriter;

public class HdrPeer {
  static void print(Histogram h) {
    StringBuilder sb = new StringBuilder();
    sb.append(h.getTotalCount());
    for (double p : new double[] {50, 90, 99, 99.9, 99.99, 99.999}) sb.append(' ').append(h.getValueAtPercentile(p));
    sb.append(' ').append(h.getMaxValue());
    System.out.println(sb);
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 2 && args[0].equals("decode")) {
      byte[] bytes = Base64.getDecoder().decode(args[1]);
      print(Histogram.decodeFromCompressedByteBuffer(ByteBuffer.wrap(bytes), 0));
    } else if (args.length == 2 && args[0].equals("write-log")) {
      HistogramLogWriter w = new HistogramLogWriter(new File(args[1]));
      long start = 1700000000000L;
      w.outputLogFormatVersion();
      w.outputStartTime(start);
      w.outputLegend();
      Histogram all = new Histogram(3600000000L, 3);
      long x = 12345;
      for (int interval = 0; interval < 3; interval++) {
        Histogram h = new Histogram(3600000000L, 3);
        for (int i = 0; i < 20000; i++) {
          x = (x * 6364136223846793005L + 1442695040888963407L);
          long v = 50 + ((x >>> 33) % 20000);          // 50 us .. 20 ms
          if (i % 1000 == 0) v = 500000 + (x >>> 40) % 2000000;  // a tail up to 2.5 s
          h.recordValue(v);
        }
        h.setStartTimeStamp(start + interval * 1000L);
        h.setEndTimeStamp(start + (interval + 1) * 1000L);
        w.outputIntervalHistogram(h);
        all.add(h);
      }
      w.close();
      print(all);
    } else {
      System.err.println("usage: HdrPeer decode BASE64 | HdrPeer write-log FILE");
      System.exit(2);
    }
  }
}
