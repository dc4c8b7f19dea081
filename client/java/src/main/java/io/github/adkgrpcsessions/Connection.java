package io.github.adkgrpcsessions;

import adk_grpc_sessions.v1.SessionServiceGrpc;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptor;
import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.MetadataUtils;
import io.reactivex.rxjava3.core.Single;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * A service's channel to the server and the rules every call on it follows: the options a user
 * gives (credentials, metadata, interceptors, the channel's own settings) applied once, the
 * reconnect pacing ({@link ReconnectPacer}), retries within each method's time budget ({@link
 * RetryingCaller}), the writes sharing calls ({@link Writes}), and the cold {@code Single} each public method returns.
 */
final class Connection implements AutoCloseable {
  private final String address;
  private final ManagedChannel channel;
  private final ScheduledExecutorService timer;
  private final RetryingCaller caller;
  private final Writes writes;

  /** A channel to {@code target} ("host:port", "grpc://", "grpcs://", "unix:"); none is opened yet. */
  Connection(
      String target,
      Duration timeout,
      RetryPolicy retry,
      @Nullable ChannelCredentials credentials,
      Metadata metadata,
      List<ClientInterceptor> interceptors,
      Consumer<ManagedChannelBuilder<?>> channelCustomizer,
      Writes.Limits writeLimits) {
    Target parsed = Target.parse(target);
    this.address = parsed.address();
    ChannelCredentials chosen =
        credentials != null
            ? credentials
            : parsed.tls() ? TlsChannelCredentials.create() : InsecureChannelCredentials.create();
    ManagedChannelBuilder<?> channelBuilder =
        Grpc.newChannelBuilder(parsed.address(), chosen)
            .maxInboundMessageSize(Integer.MAX_VALUE)
            .disableRetry(); // retries are RetryingCaller's, within the budget
    List<ClientInterceptor> all = new ArrayList<>(interceptors);
    if (!metadata.keys().isEmpty()) {
      all.add(MetadataUtils.newAttachHeadersInterceptor(metadata));
    }
    channelBuilder.intercept(all);
    channelCustomizer.accept(channelBuilder);
    this.channel = channelBuilder.build();
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            task -> {
              Thread thread = new Thread(task, "adk-grpc-sessions-reconnect");
              thread.setDaemon(true);
              return thread;
            });
    ReconnectPacer.start(channel, timer);
    this.caller =
        new RetryingCaller(channel, SessionServiceGrpc.newBlockingStub(channel), timeout, retry);
    this.writes = new Writes(channel, caller, writeLimits);
  }

  /** The gRPC address calls go to. */
  String address() {
    return address;
  }

  /**
   * A cold Single running {@code body} when subscribed, on the subscribing thread, in a gRPC
   * context that disposing of the Single cancels; its RPCs share one time budget, which starts
   * at the subscription.
   */
  <T> Single<T> call(Function<MethodCalls, T> body) {
    return Single.create(
        emitter -> {
          Context.CancellableContext context = Context.current().withCancellation();
          emitter.setCancellable(() -> context.cancel(null));
          try {
            MethodCalls calls = new MethodCalls(caller, writes, caller.budget());
            T value = context.call(() -> body.apply(calls));
            emitter.onSuccess(value);
          } catch (Throwable failure) {
            emitter.tryOnError(failure);
          } finally {
            context.cancel(null);
          }
        });
  }

  /** Closes the channel, letting calls in flight finish for up to 5 s. */
  @Override
  public void close() {
    timer.shutdownNow();
    writes.close();
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException interrupted) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
