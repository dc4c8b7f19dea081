/**
 * Listings, a page at a time or every page: the sessions of an app (or of a
 * user) in @google/adk's shape and as SessionInfo pages, and the names of
 * apps and of an app's users (ListApps, ListUsers).
 */
import type { ListSessionsRequest, ListSessionsResponse, Session } from "@google/adk";

import type { Connection } from "./connection.js";
import { sessionFromMessage } from "./conversions.js";
import type { ListSessionsRequest as ListSessionsMessage } from "./gen/adk_grpc_sessions/v1/session_service.js";
import type { ListSessionInfosRequest, SessionInfoPage } from "./metadata.js";
import { MAX_PAGE_SIZE } from "./session_reads.js";
import { sessionInfoFromMessage, type SessionInfo } from "./session_info.js";

/** Which page of apps listApps returns. */
export interface ListAppsRequest {
  /** The most apps a page holds; undefined or 0 = the server's default (larger values are capped by the server). */
  pageSize?: number;
  /** A page's nextPageToken from an earlier listApps; undefined or "" = the first page. */
  pageToken?: string;
}

/** One page of apps. */
export interface AppPage {
  /** The page's app names, in code point order. */
  appNames: string[];
  /** Continues the listing (as pageToken); "" = this was the last page. */
  nextPageToken: string;
}

/** Whose users, and which page of them, listUsers returns. */
export interface ListUsersRequest {
  /** The app whose users are listed. */
  appName: string;
  /** The most users a page holds; undefined or 0 = the server's default (larger values are capped by the server). */
  pageSize?: number;
  /** A page's nextPageToken from an earlier listUsers of the same app; undefined or "" = the first page. */
  pageToken?: string;
}

/** One page of an app's users. */
export interface UserPage {
  /** The page's user ids, in code point order. */
  userIds: string[];
  /** Continues the listing (as pageToken); "" = this was the last page. */
  nextPageToken: string;
}

/** The sessions of an app or user in @google/adk's shape, as GrpcSessionService.listSessions documents. */
export async function listAdkSessions(
  connection: Connection,
  {
    appName,
    userId,
    limit,
    offset,
    page,
    order,
    filter,
    orderBy,
  }: ListSessionsRequest & Pick<ListSessionInfosRequest, "filter" | "orderBy">,
): Promise<ListSessionsResponse> {
  const all: Session[] = [];
  const request: ListSessionsMessage = {
    appName,
    userId: userId ?? "",
    pageSize: MAX_PAGE_SIZE,
    pageToken: "",
    filter: filter ?? "",
    orderBy: orderBy ?? "",
  };
  do {
    const response = await connection.call((c) => c.listSessions, request);
    all.push(...response.sessions.map(sessionFromMessage));
    request.pageToken = response.nextPageToken;
  } while (request.pageToken !== "");
  if (order !== undefined) {
    const direction = order === "asc" ? 1 : -1;
    all.sort((a, b) => direction * (a.lastUpdateTime - b.lastUpdateTime) || a.id.localeCompare(b.id));
  }
  const totalItems = all.length;
  if (limit === undefined) {
    return {
      sessions: offset ? all.slice(offset) : all,
      page: 1,
      limit: totalItems,
      totalItems,
      totalPages: totalItems === 0 ? 0 : 1,
    };
  }
  const start = page !== undefined ? (page - 1) * limit : (offset ?? 0);
  return {
    sessions: all.slice(start, start + limit),
    page: page ?? (limit === 0 ? 1 : Math.floor(start / limit) + 1),
    limit,
    totalItems,
    totalPages: limit === 0 ? 0 : Math.ceil(totalItems / limit),
  };
}

/** One page of the session infos `request` selects. */
export async function sessionInfosPage(
  connection: Connection,
  { appName, userId, filter, orderBy, pageSize, pageToken }: ListSessionInfosRequest,
): Promise<SessionInfoPage> {
  const response = await connection.call((c) => c.listSessions, {
    appName,
    userId: userId ?? "",
    pageSize: pageSize ?? 0,
    pageToken: pageToken ?? "",
    filter: filter ?? "",
    orderBy: orderBy ?? "",
  });
  return { sessions: response.sessions.map(sessionInfoFromMessage), nextPageToken: response.nextPageToken };
}

/** One page of the apps the connection's token covers. */
export async function appsPage(connection: Connection, { pageSize, pageToken }: ListAppsRequest): Promise<AppPage> {
  const response = await connection.call((c) => c.listApps, {
    pageSize: pageSize ?? 0,
    pageToken: pageToken ?? "",
  });
  return { appNames: response.appNames, nextPageToken: response.nextPageToken };
}

/** One page of an app's users. */
export async function usersPage(
  connection: Connection,
  { appName, pageSize, pageToken }: ListUsersRequest,
): Promise<UserPage> {
  const response = await connection.call((c) => c.listUsers, {
    appName,
    pageSize: pageSize ?? 0,
    pageToken: pageToken ?? "",
  });
  return { userIds: response.userIds, nextPageToken: response.nextPageToken };
}

/**
 * Every item of a paged listing from `pageToken` on: `page` reads one page and
 * says its items and the next page's token ("" after the last).
 */
export async function* walkPages<T>(
  pageToken: string | undefined,
  page: (pageToken: string | undefined) => Promise<{ items: T[]; nextPageToken: string }>,
): AsyncGenerator<T, void, undefined> {
  do {
    const { items, nextPageToken } = await page(pageToken);
    yield* items;
    pageToken = nextPageToken;
  } while (pageToken !== "");
}

/** Every session info `request` selects, from its pageToken on. */
export function sessionInfos(connection: Connection, request: ListSessionInfosRequest): AsyncGenerator<SessionInfo> {
  return walkPages(request.pageToken, async (pageToken) => {
    const { sessions, nextPageToken } = await sessionInfosPage(connection, { ...request, pageToken });
    return { items: sessions, nextPageToken };
  });
}

/** Every app the connection's token covers, from `request`'s pageToken on. */
export function apps(connection: Connection, request: ListAppsRequest): AsyncGenerator<string> {
  return walkPages(request.pageToken, async (pageToken) => {
    const { appNames, nextPageToken } = await appsPage(connection, { ...request, pageToken });
    return { items: appNames, nextPageToken };
  });
}

/** Every user of `request`'s app, from its pageToken on. */
export function users(connection: Connection, request: ListUsersRequest): AsyncGenerator<string> {
  return walkPages(request.pageToken, async (pageToken) => {
    const { userIds, nextPageToken } = await usersPage(connection, { ...request, pageToken });
    return { items: userIds, nextPageToken };
  });
}
