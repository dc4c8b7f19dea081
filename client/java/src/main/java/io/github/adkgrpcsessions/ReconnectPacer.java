package io.github.adkgrpcsessions;

import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Makes a channel that lost its server try to reconnect every 0.1 to 0.5 s (+20% jitter), the
 * reconnect backoff the Go and TypeScript clients configure. grpc-java's own grows from 1 s to
 * 120 s and has no public setting, so a server back after a few seconds would be found seconds
 * later still; {@link ManagedChannel#resetConnectBackoff()} is its public way to cut a wait short.
 */
final class ReconnectPacer {
  private static final long INITIAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  private static final long MAX_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
  private static final double MULTIPLIER = 1.6;
  private static final double JITTER = 0.2;

  private final ManagedChannel channel;
  private final ScheduledExecutorService timer;
  private long delayNanos = INITIAL_NANOS;

  private ReconnectPacer(ManagedChannel channel, ScheduledExecutorService timer) {
    this.channel = channel;
    this.timer = timer;
  }

  /** Paces the channel's reconnects until it shuts down, on the given timer's thread. */
  static void start(ManagedChannel channel, ScheduledExecutorService timer) {
    ReconnectPacer pacer = new ReconnectPacer(channel, timer);
    pacer.watch(channel.getState(false));
  }

  private void watch(ConnectivityState seen) {
    if (seen == ConnectivityState.SHUTDOWN) {
      return;
    }
    channel.notifyWhenStateChanged(seen, this::changed);
  }

  private synchronized void changed() {
    ConnectivityState now = channel.getState(false);
    if (now == ConnectivityState.READY) {
      delayNanos = INITIAL_NANOS;
    } else if (now == ConnectivityState.TRANSIENT_FAILURE && !timer.isShutdown()) {
      long jittered = (long) (delayNanos * (1 + JITTER * (2 * ThreadLocalRandom.current().nextDouble() - 1)));
      timer.schedule(channel::resetConnectBackoff, jittered, TimeUnit.NANOSECONDS);
      delayNanos = Math.min(MAX_NANOS, (long) (delayNanos * MULTIPLIER));
    }
    watch(now);
  }
}
