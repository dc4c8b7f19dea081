"""The Go, TypeScript and Java clients as their users get them: a package, installed into a fresh project.

Each test makes the package the way that ecosystem ships it (``npm pack``; the
Go module fetched into an empty module cache; ``mvn install`` into the local
Maven repository), then a new project outside the repository depends on it,
builds, and runs a program that creates a session on a real server; the
session is then read back through the Python client. What these catch: files
missing from the npm tarball, a go.sum that does not cover a clean build, a
POM whose dependencies do not resolve for a consumer.
"""

from __future__ import annotations

import asyncio
import json
import os
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adk_grpc_sessions.client import GrpcSessionService
from tests.polyglot.toolchains import (
    BUILD_TIMEOUT,
    DEPENDENCY_PLUGIN,
    GO_DIR,
    JAVA_DIR,
    MAVEN,
    TS_DIR,
    build_typescript,
    require,
    run,
)
from tests.server_process import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

GO_MODULE = "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go"


@pytest.fixture
async def server() -> AsyncIterator[str]:
    """A real server process on the memory backend; its address."""
    process = await ServerProcess(["serve", "--listen", "127.0.0.1:0", "--backend", "memory://"]).start()
    try:
        yield await process.address()
    finally:
        assert await process.stop() == 0, process.stderr


async def _created_by(address: str, language: str) -> None:
    """The session the consumer program of ``language`` created, as the Python client reads it."""
    async with GrpcSessionService(address) as client:
        session = await client.get_session(app_name="packages", user_id="u", session_id=language)
    assert session is not None, f"the {language} program's session is not on the server"
    assert session.state == {"from": language}


async def test_the_npm_tarball_installs_into_a_new_project_and_works(server: str, tmp_path: Path) -> None:
    require("node", "the TypeScript client needs Node 20+")
    npm = require("npm", "the TypeScript client needs npm")
    # npm pack's prepack compiles with the client's own tsc: its locked dependencies first.
    await build_typescript()
    packed = await run(
        [npm, "pack", "--pack-destination", str(tmp_path)], cwd=TS_DIR, time_limit=BUILD_TIMEOUT
    )
    assert packed.returncode == 0, packed.explain("npm pack")
    (tarball,) = await asyncio.to_thread(lambda: list(tmp_path.glob("adk-grpc-sessions-*.tgz")))

    project = tmp_path / "consumer"
    project.mkdir()
    adk_version = json.loads((TS_DIR / "package.json").read_text())["devDependencies"]["@google/adk"]
    (project / "package.json").write_text(
        json.dumps(
            {
                "name": "consumer",
                "private": True,
                "type": "module",
                "dependencies": {"adk-grpc-sessions": f"file:{tarball}", "@google/adk": adk_version},
            }
        )
    )
    (project / "main.js").write_text(
        textwrap.dedent(
            """
            import { GrpcSessionService } from "adk-grpc-sessions";

            const service = new GrpcSessionService(process.argv[2]);
            const session = await service.createSession({
              appName: "packages", userId: "u", sessionId: "typescript", state: { from: "typescript" },
            });
            console.log(session.id);
            service.close();
            """
        )
    )
    installed = await run([npm, "install", "--no-audit", "--no-fund"], cwd=project, time_limit=BUILD_TIMEOUT)
    assert installed.returncode == 0, installed.explain("npm install")
    shipped = sorted(p.name for p in (project / "node_modules" / "adk-grpc-sessions").iterdir())
    assert shipped == ["README.md", "dist", "package.json"], shipped
    ran = await run(["node", "main.js", server], cwd=project)
    assert ran.returncode == 0, ran.explain("node main.js")
    assert ran.stdout.strip() == "typescript"
    await _created_by(server, "typescript")


async def test_the_go_module_builds_for_a_new_module_from_an_empty_module_cache(
    server: str, tmp_path: Path
) -> None:
    go = require("go", "the Go client needs Go 1.26+ (modules come from the Go proxy)")
    # Only the module cache is new: every dependency is fetched and checked against
    # go.sum again. (The build cache is kept: it holds compiled code, not modules.)
    clean = {"GOMODCACHE": str(tmp_path / "modcache"), "GOFLAGS": "-modcacherw"}
    vetted = await run([go, "vet", "-mod=readonly", "./..."], cwd=GO_DIR, env=clean, time_limit=BUILD_TIMEOUT)
    assert vetted.returncode == 0, vetted.explain("go vet from an empty module cache")

    project = tmp_path / "consumer"
    project.mkdir()
    go_version = next(
        line.split()[1] for line in (GO_DIR / "go.mod").read_text().splitlines() if line.startswith("go ")
    )
    (project / "go.mod").write_text(
        f"module example.com/consumer\n\ngo {go_version}\n\n"
        f"require {GO_MODULE} v0.0.0\n\nreplace {GO_MODULE} => {GO_DIR}\n"
    )
    (project / "main.go").write_text(
        textwrap.dedent(
            f"""
            package main

            import (
            \t"context"
            \t"fmt"
            \t"os"

            \t"{GO_MODULE}/grpcsession"
            \t"google.golang.org/adk/v2/session"
            )

            func main() {{
            \tservice, err := grpcsession.New(os.Args[1])
            \tif err != nil {{
            \t\tpanic(err)
            \t}}
            \tdefer service.Close()
            \tcreated, err := service.Create(context.Background(), &session.CreateRequest{{
            \t\tAppName: "packages", UserID: "u", SessionID: "go", State: map[string]any{{"from": "go"}},
            \t}})
            \tif err != nil {{
            \t\tpanic(err)
            \t}}
            \tfmt.Println(created.Session.ID())
            }}
            """
        )
    )
    tidied = await run([go, "mod", "tidy"], cwd=project, env=clean, time_limit=BUILD_TIMEOUT)
    assert tidied.returncode == 0, tidied.explain("go mod tidy")
    built = await run(
        [go, "build", "-o", str(tmp_path / "consumer-bin"), "."],
        cwd=project,
        env=clean,
        time_limit=BUILD_TIMEOUT,
    )
    assert built.returncode == 0, built.explain("go build")
    ran = await run([str(tmp_path / "consumer-bin"), server], cwd=project)
    assert ran.returncode == 0, ran.explain("the Go program")
    assert ran.stdout.strip() == "go"
    await _created_by(server, "go")


def _pom_value(tag: str) -> str:
    text = (JAVA_DIR / "pom.xml").read_text()
    return text.split(f"<{tag}>", 1)[1].split(f"</{tag}>", 1)[0]


async def test_the_java_artifact_installs_to_a_maven_repository_and_a_new_project_uses_it(
    server: str, tmp_path: Path
) -> None:
    require("java", "the Java client needs a JDK 17+")
    mvn = require("mvn", "the Java client needs Maven")
    installed = await run([mvn, *MAVEN, "install", "-DskipTests"], cwd=JAVA_DIR, time_limit=BUILD_TIMEOUT)
    assert installed.returncode == 0, installed.explain("mvn install")

    project = tmp_path / "consumer"
    source = project / "src" / "main" / "java" / "example"
    source.mkdir(parents=True)
    (project / "pom.xml").write_text(
        textwrap.dedent(
            f"""\
            <?xml version="1.0" encoding="UTF-8"?>
            <project xmlns="http://maven.apache.org/POM/4.0.0">
              <modelVersion>4.0.0</modelVersion>
              <groupId>example</groupId>
              <artifactId>consumer</artifactId>
              <version>1</version>
              <properties>
                <maven.compiler.release>17</maven.compiler.release>
                <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
              </properties>
              <dependencies>
                <dependency>
                  <groupId>io.github.adk-grpc-sessions</groupId>
                  <artifactId>adk-grpc-sessions</artifactId>
                  <version>{_pom_value("version")}</version>
                </dependency>
                <dependency>
                  <groupId>com.google.adk</groupId>
                  <artifactId>google-adk</artifactId>
                  <version>{_pom_value("adk.version")}</version>
                </dependency>
              </dependencies>
              <build>
                <plugins>
                  <plugin>
                    <groupId>org.apache.maven.plugins</groupId>
                    <artifactId>maven-compiler-plugin</artifactId>
                    <version>3.14.0</version>
                  </plugin>
                </plugins>
              </build>
            </project>
            """
        )
    )
    (source / "Main.java").write_text(
        textwrap.dedent(
            """\
            package example;

            import io.github.adkgrpcsessions.GrpcSessionService;
            import java.util.HashMap;
            import java.util.Map;

            public final class Main {
              public static void main(String[] args) {
                Map<String, Object> state = new HashMap<>();
                state.put("from", "java");
                try (GrpcSessionService service = new GrpcSessionService(args[0])) {
                  System.out.println(service.createSession("packages", "u", state, "java").blockingGet().id());
                }
              }
            }
            """
        )
    )
    classpath = tmp_path / "classpath.txt"
    built = await run(
        [mvn, *MAVEN, "package", f"{DEPENDENCY_PLUGIN}:build-classpath", f"-Dmdep.outputFile={classpath}"],
        cwd=project,
        time_limit=BUILD_TIMEOUT,
    )
    assert built.returncode == 0, built.explain("mvn package of the new project")
    path = os.pathsep.join([str(project / "target" / "classes"), classpath.read_text().strip()])
    ran = await run(["java", "-cp", path, "example.Main", server], cwd=project)
    assert ran.returncode == 0, ran.explain("the Java program")
    assert ran.stdout.strip().splitlines()[-1] == "java"
    await _created_by(server, "java")
