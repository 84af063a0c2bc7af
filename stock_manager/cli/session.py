"""One command run: its options, its output, its configuration and its client.

>>> with Session.start() as session, session.client() as client:
...     session.output.line(client.get_tr_id("order-cash", variant="buy") or "")
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient

from .failures import NotConfiguredError, logs_to_stderr, reported
from .options import CommonOptions, current_options
from .output import Output

__all__ = ["Session", "config_overrides"]


def config_overrides(options: CommonOptions) -> dict[str, Any]:
    """The ``KISConfig`` keyword arguments the command-line flags stand for."""
    values = {
        "environment": options.env,
        "base_url": options.base_url,
        "kis_app_key": options.app_key,
        "kis_app_secret": options.app_secret,
        "account_no": options.account_no,
    }
    return {name: value for name, value in values.items() if value is not None}


@dataclass
class Session:
    """The options and output of the running command, and the KIS objects built from them."""

    options: CommonOptions
    output: Output

    @classmethod
    @contextlib.contextmanager
    def start(cls) -> Iterator[Session]:
        """Set up output (and debug logs) for the running command; report failures on exit."""
        options = current_options()
        output = Output(json_mode=options.json, secrets=[options.app_secret or ""])
        with reported(output, debug=options.debug), logs_to_stderr(output, options.debug):
            if options.app_secret:
                output.warn(
                    "--app-secret is visible in shell history and process lists; "
                    "prefer KIS_APP_SECRET or a .env file"
                )
            yield cls(options, output)

    def config(self, *, need_server: bool = True) -> KISConfig:
        """``KISConfig`` from KIS_* variables and ``.env``, overridden by the flags.

        With ``need_server``, refuses (exit 2) when neither an app key nor a base URL is set,
        pointing at the sandbox and the demo instead.
        """
        config = KISConfig(**config_overrides(self.options))
        if config.kis_app_secret is not None:
            self.output.add_secret(config.kis_app_secret.get_secret_value())
        if config.personalseckey is not None:
            self.output.add_secret(config.personalseckey.get_secret_value())
        if need_server and config.kis_app_key is None and config.base_url is None:
            raise NotConfiguredError()
        return config

    @contextlib.contextmanager
    def client(self, config: KISConfig | None = None) -> Iterator[KISRestClient]:
        """A :class:`KISRestClient` for the configured server, closed afterwards."""
        config = config or self.config()
        # Fail on missing credentials now, with the config's message, not mid-request.
        config.app_key  # noqa: B018
        config.app_secret  # noqa: B018
        with KISRestClient(config) as client:
            yield client
