"""``/healthz``: what a monitor reads, without signing in."""


def test_healthz(client, town):
    response = client.get("/healthz")
    assert response.status_code == 200
    data = response.get_json()
    assert data["database"] == "ok" and data["scheduler"]["last_heartbeat"] is None
    assert data["outbox"] == {"queued": 0, "sending": 0, "failed": 0}
    assert "Set-Cookie" not in response.headers
