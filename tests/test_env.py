import json

from config.env import service_url


def test_manage_commands_find_the_embedded_services(tmp_path, monkeypatch):
    services = tmp_path / "services.json"
    services.write_text(json.dumps({"DATABASE_URL": "postgresql://postgres@127.0.0.1:54329/consultio",
                                    "REDIS_URL": "redis://127.0.0.1:63799/0", "postgres_port": 54329}))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert service_url("DATABASE_URL", services_file=services) == "postgresql://postgres@127.0.0.1:54329/consultio"
    assert service_url("REDIS_URL", services_file=services) == "redis://127.0.0.1:63799/0"


def test_environment_wins_over_embedded_services(tmp_path, monkeypatch):
    services = tmp_path / "services.json"
    services.write_text(json.dumps({"DATABASE_URL": "postgresql://embedded/db"}))
    monkeypatch.setenv("DATABASE_URL", "postgresql://elsewhere/db")
    assert service_url("DATABASE_URL", services_file=services) == "postgresql://elsewhere/db"


def test_no_services_file_means_no_url(tmp_path, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert service_url("REDIS_URL", services_file=tmp_path / "missing.json") is None
