"""A process that rewrites one token cache entry in a loop until it is killed (not collected).

    python cache_writer.py store|torn
    python cache_writer.py check

Configured by the environment: ``KIS_BASE_URL``, ``KIS_APP_KEY``, ``KIS_ENVIRONMENT``,
``KIS_TOKEN_CACHE_DIR`` name the entry; ``REL_TOKEN`` and ``REL_EXPIRES_AT`` (ISO 8601) are the
token to write. Prints ``ready`` once the entry has been written at least once, then loops:

* ``store``: through :class:`FileTokenStore`, the way clients write (alternating plain saves and
  saves through the lease of the key's lock, so kills also land while the lock is held);
* ``torn``: the entry's JSON written in place in small unbuffered pieces, the way a careless
  writer would, so a kill usually leaves half a file (the reader must discard it).

``check`` is the next process: a client configured by ``KIS_*`` makes one quotation call and
prints one JSON line ``{"rt_cd", "token_sha256", "warnings"}``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from datetime import UTC, datetime

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
from stock_manager.adapters.broker.kis.tokens import (
    ACCESS_TOKEN,
    FileTokenStore,
    TokenEntry,
    TokenKey,
)

PIECE = 24


def check() -> None:
    warnings: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            warnings.append(record.getMessage())

    logging.getLogger("stock_manager").addHandler(Collect(logging.WARNING))
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
    with KISRestClient(KISConfig(_env_file=None)) as client:
        response = client.make_request("GET", api_id="inquire-price", params=params)
        token = client.access_token().value
    digest = hashlib.sha256(token.encode()).hexdigest()
    print(json.dumps({"rt_cd": response["rt_cd"], "token_sha256": digest, "warnings": warnings}))


def main() -> None:
    mode = sys.argv[1]
    if mode == "check":
        check()
        return
    config = KISConfig(_env_file=None)
    key = TokenKey.for_config(config, ACCESS_TOKEN)
    store = FileTokenStore(config.token_cache_dir)
    expires = datetime.fromisoformat(os.environ["REL_EXPIRES_AT"])
    token = os.environ["REL_TOKEN"]
    announced = False
    round_ = 0
    while True:
        round_ += 1
        entry = TokenEntry(ACCESS_TOKEN, datetime.now(UTC), token, expires)
        if mode == "store":
            if round_ % 2:
                store.save(key, entry)
            else:
                with store.lock(key, 10) as lease:
                    lease.save(entry)
        else:
            _write_in_pieces(store, key, entry)
        if not announced:
            print("ready", flush=True)
            announced = True


def _write_in_pieces(store: FileTokenStore, key: TokenKey, entry: TokenEntry) -> None:
    data = json.dumps(entry.to_json(), indent=1).encode()
    store.directory.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(store.path_for(key), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for start in range(0, len(data), PIECE):
            os.write(descriptor, data[start : start + PIECE])
            time.sleep(0.0002)
    finally:
        os.close(descriptor)


if __name__ == "__main__":
    main()
