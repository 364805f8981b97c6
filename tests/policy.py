"""The shipped SLA policy, as the tests' default."""

from __future__ import annotations

from router.config_files import DEFAULT_CONFIG_DIR
from router.sla_config import load_sla_config

POLICY = load_sla_config(DEFAULT_CONFIG_DIR / "sla.toml").policy
