"""Benchmark: what a page costs against the cheapest request, on the same served app.

``tracker serve`` (2 x cores + 1 workers) on loopback; 4 concurrent clients request a
unit's calendar page (signed in as the unit's manager) for SECONDS, then ``/healthz``
for as long. Target: the page's throughput at least 0.5x that of ``/healthz``.

    python3 dev.py bench page_cost   # or: .venv/bin/python bench/bench_page_cost.py
"""

import multiprocessing
import os
import sys
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import PASSWORD, Client, prepare, served  # noqa: E402
from common import report  # noqa: E402

SECONDS = float(os.environ.get("TRACKER_PAGE_COST_SECONDS", "15"))
CLIENTS = 4


def hammer(clients: list[Client], path: str, seconds: float) -> tuple[int, int]:
    """Requests made and errors, all clients together, in ``seconds``."""
    counts, errors = [0] * len(clients), [0] * len(clients)
    deadline = time.monotonic() + seconds

    def run(i):
        while time.monotonic() < deadline:
            status, _ = clients[i].request(path)
            counts[i] += 1
            errors[i] += status != 200

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts), sum(errors)


def main():
    year = datetime.now(timezone.utc).year
    people, url = prepare(year)
    email = people[0][0]  # a unit's manager
    workers = 2 * multiprocessing.cpu_count() + 1
    with served(url, workers) as base:
        clients = []
        for _ in range(CLIENTS):
            client = Client(base)
            token = client.csrf("/login")
            body = urllib.parse.urlencode({"email": email, "password": PASSWORD,
                                           "csrf_token": token}).encode()
            status, _ = client.request("/login", body)
            assert status == 200, status
            clients.append(client)
        hammer(clients, "/", 2)  # warm every worker up
        hammer(clients, "/healthz", 1)
        pages, page_errors = hammer(clients, "/", SECONDS)
        health, health_errors = hammer(clients, "/healthz", SECONDS)
    page_rate, health_rate = pages / SECONDS, health / SECONDS
    ratio = page_rate / health_rate
    print(f"{CLIENTS} clients, {workers} workers, {SECONDS:.0f} s each: a unit's calendar page "
          f"{page_rate:.0f}/s, /healthz {health_rate:.0f}/s")
    report("page_cost", [
        {"figure": "unit calendar page requests/s", "value": round(page_rate, 1),
         "target": "-", "met": True},
        {"figure": "/healthz requests/s", "value": round(health_rate, 1), "target": "-",
         "met": True},
        {"figure": "page throughput / healthz throughput", "value": round(ratio, 2),
         "target": ">= 0.5", "met": ratio >= 0.5},
        {"figure": "errors", "value": page_errors + health_errors, "target": "0",
         "met": not (page_errors or health_errors)},
    ])


if __name__ == "__main__":
    main()
