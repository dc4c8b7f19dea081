package io.github.adkgrpcsessions;

import java.util.List;
import java.util.Optional;

/**
 * One page of a listing of names: apps ({@link GrpcSessionService#listAppsPage}) or an app's
 * users ({@link GrpcSessionService#listUsersPage}).
 *
 * @param names the page's app names or user ids, in code point order
 * @param nextPageToken continues the listing (as the next call's page token); absent on the last
 *     page
 */
public record NamePage(List<String> names, Optional<String> nextPageToken) {
  /** A page of {@code names}, followed by the page {@code nextPageToken} names ("" = none). */
  public NamePage {
    names = List.copyOf(names);
    nextPageToken = nextPageToken.filter(token -> !token.isEmpty());
  }
}
