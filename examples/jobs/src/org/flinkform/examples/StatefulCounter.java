package org.flinkform.examples;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;

/**
 * A small stateful job for flinkform's examples and tests: a throttled number sequence, keyed
 * into four keys, each counting the records it has seen in keyed state. The largest count is
 * exposed as the operator metric {@code maxCount}, so anyone can check through Flink's REST API
 * that the count carried on across an upgrade (restored from a savepoint) instead of resetting.
 *
 * <p>Argument: the delay per record in milliseconds (default 20).
 */
public class StatefulCounter {

    public static void main(String[] args) throws Exception {
        final long delayMs = args.length > 0 ? Long.parseLong(args[0]) : 20L;
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.fromSequence(0, Long.MAX_VALUE)
                .uid("sequence")
                .name("sequence")
                .map(x -> {
                    Thread.sleep(delayMs);
                    return x;
                })
                .uid("throttle")
                .name("throttle")
                .keyBy(x -> x % 4)
                .process(new CountPerKey())
                .uid("count-per-key")
                .name("count-per-key")
                .sinkTo(new DiscardingSink<>())
                .uid("discard")
                .name("discard");
        env.execute("stateful-counter");
    }

    /** Counts records per key in keyed state; reports the largest count as a gauge. */
    public static class CountPerKey extends KeyedProcessFunction<Long, Long, Long> {
        private transient ValueState<Long> count;
        private transient volatile long max;

        @Override
        public void open(OpenContext openContext) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Long.class));
            getRuntimeContext().getMetricGroup().gauge("maxCount", (Gauge<Long>) () -> max);
        }

        @Override
        public void processElement(Long value, Context ctx, Collector<Long> out) throws Exception {
            Long current = count.value();
            long next = (current == null ? 0L : current) + 1L;
            count.update(next);
            if (next > max) {
                max = next;
            }
            out.collect(next);
        }
    }
}
