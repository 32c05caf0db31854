"""Settings of the gunicorn that bench/firm.py starts: the production settings plus the yardstick routes."""

from pmaas.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare_api"
