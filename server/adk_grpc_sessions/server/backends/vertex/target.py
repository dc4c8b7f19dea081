"""Which Agent Engine an ``agentengine://`` URI names, and how to reach it.

The forms are ADK's own (``adk web --session_service_uri``):

* ``agentengine://projects/PROJECT/locations/LOCATION/reasoningEngines/ID``
* ``agentengine://ID``, with the project and location from
  ``GOOGLE_CLOUD_PROJECT`` and ``GOOGLE_CLOUD_LOCATION``.

Query parameters, all optional:

* ``endpoint=HOST:PORT``: the API endpoint, e.g. a Private Service Connect
  endpoint (default: ``LOCATION-aiplatform.googleapis.com:443``). TLS with
  Application Default Credentials, unless
* ``plaintext=true``: no TLS and no credentials, only for a loopback
  ``endpoint`` (a local stand-in or proxy): nothing leaves the machine unencrypted.
* ``timeout=SECONDS``: the time budget of each API call, retries included (default 30).
* ``operation_timeout=SECONDS``: how long to wait for a create or delete
  operation to finish (default 60).
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qs, urlsplit

SCHEME: Final = "agentengine"
PROJECT_ENV: Final = "GOOGLE_CLOUD_PROJECT"
LOCATION_ENV: Final = "GOOGLE_CLOUD_LOCATION"
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_OPERATION_TIMEOUT: Final = 60.0

_SEGMENT: Final = re.compile(r"[A-Za-z0-9_-]+")
_PARAMETERS: Final = ("endpoint", "plaintext", "timeout", "operation_timeout")
_TRUE: Final = ("1", "true", "yes")
_FALSE: Final = ("0", "false", "no")


@dataclass(frozen=True, slots=True)
class AgentEngineTarget:
    """One reasoning engine's Sessions API, and the channel to it."""

    project: str
    location: str
    engine_id: str
    endpoint: str
    """``HOST:PORT`` of the API."""
    plaintext: bool = False
    timeout: float = DEFAULT_TIMEOUT
    operation_timeout: float = DEFAULT_OPERATION_TIMEOUT

    @property
    def engine_name(self) -> str:
        """The engine's resource name, the parent of its sessions."""
        return f"projects/{self.project}/locations/{self.location}/reasoningEngines/{self.engine_id}"

    def session_name(self, session_id: str) -> str:
        """A session's resource name."""
        return f"{self.engine_name}/sessions/{session_id}"


def default_endpoint(location: str) -> str:
    """Google's endpoint for a location (the Sessions API is regional)."""
    host = "aiplatform.googleapis.com" if location == "global" else f"{location}-aiplatform.googleapis.com"
    return f"{host}:443"


def parse_target(uri: str, environ: Mapping[str, str] = os.environ) -> AgentEngineTarget:
    """The target an ``agentengine://`` URI names.

    Raises:
        ValueError: the URI is malformed, names an unknown parameter, or asks
            for plaintext to a host that is not loopback; or the short form is
            used without the environment it needs.
    """
    parts = urlsplit(uri)
    if parts.scheme.lower() != SCHEME:
        raise ValueError(f"not an {SCHEME}:// URI: {uri!r}")
    if parts.fragment:
        raise ValueError(f"an {SCHEME}:// URI has no fragment: {uri!r}")
    project, location, engine_id = _engine(parts.netloc + parts.path, environ)
    parameters = _parameters(parts.query)
    endpoint = parameters.get("endpoint") or default_endpoint(location)
    plaintext = _flag("plaintext", parameters.get("plaintext", "false"))
    if plaintext and not _is_loopback(endpoint):
        raise ValueError(
            f"plaintext=true is allowed only for a loopback endpoint (127.0.0.0/8, ::1, localhost), "
            f"got {endpoint!r}"
        )
    return AgentEngineTarget(
        project=project,
        location=location,
        engine_id=engine_id,
        endpoint=endpoint,
        plaintext=plaintext,
        timeout=_seconds("timeout", parameters.get("timeout"), DEFAULT_TIMEOUT),
        operation_timeout=_seconds(
            "operation_timeout", parameters.get("operation_timeout"), DEFAULT_OPERATION_TIMEOUT
        ),
    )


def _engine(resource: str, environ: Mapping[str, str]) -> tuple[str, str, str]:
    resource = resource.strip("/")
    if not resource:
        raise ValueError(
            f"an {SCHEME}:// URI names a reasoning engine: "
            f"{SCHEME}://projects/P/locations/L/reasoningEngines/ID or {SCHEME}://ID"
        )
    if "/" not in resource:
        project, location = environ.get(PROJECT_ENV), environ.get(LOCATION_ENV)
        if not project or not location:
            raise ValueError(
                f"the short form {SCHEME}://{resource} takes the project and location from "
                f"{PROJECT_ENV} and {LOCATION_ENV}, which are not both set"
            )
        segments = [project, location, resource]
    else:
        names = resource.split("/")
        if len(names) != 6 or names[0::2] != ["projects", "locations", "reasoningEngines"]:
            raise ValueError(
                f"malformed reasoning engine {resource!r}: expected "
                "projects/PROJECT/locations/LOCATION/reasoningEngines/ID"
            )
        segments = names[1::2]
    for segment in segments:
        if not _SEGMENT.fullmatch(segment):
            raise ValueError(f"malformed reasoning engine name segment {segment!r} in {resource!r}")
    return segments[0], segments[1], segments[2]


def _parameters(query: str) -> dict[str, str]:
    values = parse_qs(query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(values) - set(_PARAMETERS))
    if unknown:
        raise ValueError(
            f"unknown {SCHEME}:// parameter(s) {', '.join(unknown)}; known: {', '.join(_PARAMETERS)}"
        )
    for name, given in values.items():
        if len(given) > 1:
            raise ValueError(f"{SCHEME}:// parameter {name!r} is given more than once")
    return {name: given[0] for name, given in values.items()}


def _flag(name: str, text: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ValueError(f"{SCHEME}:// parameter {name!r} must be true or false, got {text!r}")


def _seconds(name: str, text: str | None, default: float) -> float:
    if text is None:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{SCHEME}:// parameter {name!r} must be a positive number of seconds, got {text!r}")
    return seconds


def _is_loopback(endpoint: str) -> bool:
    host = urlsplit(f"//{endpoint}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
