package io.github.adkgrpcsessions;

import com.google.adk.models.BaseLlm;
import com.google.adk.models.BaseLlmConnection;
import com.google.adk.models.LlmRequest;
import com.google.adk.models.LlmResponse;
import com.google.genai.types.Content;
import com.google.genai.types.Part;
import io.reactivex.rxjava3.core.Flowable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;

/** A model that answers with canned contents, in order, and records what it was asked. */
final class ScriptedModel extends BaseLlm {
  private final Deque<Content> script = new ArrayDeque<>();
  private final List<LlmRequest> requests = new ArrayList<>();

  ScriptedModel() {
    super("scripted-model");
  }

  /** Adds a reply that calls {@code tool} with {@code args}. */
  ScriptedModel call(String tool, Map<String, Object> args) {
    script.add(Content.builder().role("model").parts(List.of(Part.fromFunctionCall(tool, args))).build());
    return this;
  }

  /** Adds a reply of one text part. */
  ScriptedModel reply(String text) {
    script.add(Content.builder().role("model").parts(List.of(Part.fromText(text))).build());
    return this;
  }

  /** What the model was asked, in order. */
  synchronized List<LlmRequest> requests() {
    return List.copyOf(requests);
  }

  @Override
  public synchronized Flowable<LlmResponse> generateContent(LlmRequest request, boolean stream) {
    requests.add(request);
    Content next = script.poll();
    if (next == null) {
      return Flowable.error(new IllegalStateException("the script has no more replies"));
    }
    return Flowable.just(LlmResponse.builder().content(next).turnComplete(true).build());
  }

  @Override
  public BaseLlmConnection connect(LlmRequest request) {
    throw new UnsupportedOperationException("the scripted model has no live connection");
  }
}
