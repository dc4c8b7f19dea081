/**
 * A real adk-grpc-sessions server (memory backend) on a real TCP socket for
 * the tests: $ADK_GRPC_SESSIONS_TARGET if set, else one started from
 * $ADK_GRPC_SESSIONS_SERVER, the repository's .venv (`make install`) or $PATH.
 * A server to kill and restart keeps its sessions in a SQLite file instead.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";

export interface TestServer {
  /** "127.0.0.1:PORT". */
  address: string;
  stop(): Promise<void>;
}

function executable(): string | undefined {
  if (process.env["ADK_GRPC_SESSIONS_SERVER"]) {
    return process.env["ADK_GRPC_SESSIONS_SERVER"];
  }
  for (let dir = resolve("."); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, ".venv", "bin", "adk-grpc-sessions");
    if (existsSync(candidate)) {
      return candidate;
    }
  }
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    const candidate = join(dir, "adk-grpc-sessions");
    if (dir && existsSync(candidate)) {
      return candidate;
    }
  }
  return undefined;
}

/** Why the tests cannot run here, or undefined if they can. */
export function unavailable(): string | undefined {
  if (process.env["ADK_GRPC_SESSIONS_TARGET"] || executable()) {
    return undefined;
  }
  return "SKIPPED: no adk-grpc-sessions server executable: run `make install` at the repository root, or set ADK_GRPC_SESSIONS_SERVER";
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject()));
    });
  });
}

function launch(
  binary: string,
  address: string,
  backend = "memory://",
  flags: readonly string[] = [],
): Promise<ChildProcess> {
  return new Promise((resolveChild, reject) => {
    const args = ["serve", "--listen", address, "--backend", backend, "--grace-seconds", "0", ...flags];
    const child = spawn(binary, args, {
      stdio: ["ignore", "inherit", "pipe"],
    });
    let log = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the server on ${address} did not start in 30 s:\n${log}`));
    }, 30_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("serving on")) {
        clearTimeout(timer);
        resolveChild(child);
      }
    });
    child.once("exit", () => {
      clearTimeout(timer);
      reject(new Error(`the server on ${address} exited:\n${log}`));
    });
  });
}

/**
 * Starts a fresh server, or returns the one named by $ADK_GRPC_SESSIONS_TARGET
 * (unless `flags` are given: they are added to the new server's command line).
 */
export async function startServer(flags: readonly string[] = []): Promise<TestServer> {
  const given = process.env["ADK_GRPC_SESSIONS_TARGET"];
  if (given && flags.length === 0) {
    return { address: given, stop: async () => {} };
  }
  const binary = executable();
  if (binary === undefined) {
    throw new Error(unavailable());
  }
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const address = `127.0.0.1:${await freePort()}`;
    try {
      const child = await launch(binary, address, "memory://", flags);
      return {
        address,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once("exit", () => done());
            child.kill("SIGTERM");
          }),
      };
    } catch (error) {
      lastError = error; // the port was taken meanwhile: try another
    }
  }
  throw lastError;
}

/** A fresh server that serves its Prometheus metrics, and a way to read them. */
export interface MeteredServer extends TestServer {
  /** The server's counters now, by sample ("name{label=\"value\",...}", labels in the server's order). */
  metrics(): Promise<Map<string, number>>;
}

/** Starts a fresh server (never the one named by $ADK_GRPC_SESSIONS_TARGET) with --metrics-listen. */
export async function startMeteredServer(): Promise<MeteredServer> {
  const metricsAddress = `127.0.0.1:${await freePort()}`;
  const server = await startServer(["--metrics-listen", metricsAddress]);
  return {
    ...server,
    async metrics() {
      const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
      const samples = new Map<string, number>();
      for (const line of text.split("\n")) {
        const match = /^(\S+) (\S+)$/.exec(line);
        if (match && !line.startsWith("#")) {
          samples.set(match[1]!, Number(match[2]));
        }
      }
      return samples;
    },
  };
}

/** A server on a SQLite file of its own, to kill and start again on the same address and file. */
export interface RestartableServer extends TestServer {
  /** Ends the process at once with SIGKILL, as a crash would, and waits for it. */
  kill(): Promise<void>;
  /** Stops the process with SIGTERM (it drains for its --grace-seconds, 0 unless given), and waits for it. */
  terminate(): Promise<void>;
  /** Starts a new process on the same address and file; resolves once it serves. */
  restart(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once("exit", () => done());
  });
}

/**
 * Starts a fresh server on a SQLite file (never the one named by
 * $ADK_GRPC_SESSIONS_TARGET); `flags` are added to its command line, each
 * time it starts.
 */
export async function startRestartableServer(flags: readonly string[] = []): Promise<RestartableServer> {
  const binary = executable();
  if (binary === undefined) {
    throw new Error(unavailable());
  }
  const dir = mkdtempSync(join(tmpdir(), "adk-grpc-sessions-ts-"));
  const backend = `sqlite:///${join(dir, "sessions.db")}`;
  let address = "";
  let child: ChildProcess | undefined;
  let lastError: unknown;
  for (let attempt = 0; attempt < 3 && child === undefined; attempt++) {
    address = `127.0.0.1:${await freePort()}`;
    child = await launch(binary, address, backend, flags).catch((error: unknown) => {
      lastError = error; // the port was taken meanwhile: try another
      return undefined;
    });
  }
  if (child === undefined) {
    throw lastError;
  }
  let current: ChildProcess = child;
  return {
    address,
    async kill() {
      const gone = exited(current);
      current.kill("SIGKILL");
      await gone;
    },
    async terminate() {
      const gone = exited(current);
      current.kill("SIGTERM");
      await gone;
    },
    async restart() {
      current = await launch(binary, address, backend, flags);
    },
    async stop() {
      const gone = exited(current);
      current.kill("SIGTERM");
      await gone;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
