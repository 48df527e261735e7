"""Store settings (``TOPOLOG_STORE_<FIELD>``): key prefix, hot window, batch sizes.

Kept apart from ``topolog.settings`` because only the store reads them.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DAY_MS = 24 * 3600 * 1000


class StoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOPOLOG_STORE_", env_file=".env", extra="ignore")

    #: Every Redis key of the projection starts with this (``rebuild`` drops exactly these).
    prefix: str = "topolog:"
    #: History kept in Redis (ms); older times are answered by cold time travel from Kafka.
    hot_window_ms: int = DAY_MS
    #: Kafka consumer group of the projector.
    group_id: str = "topolog-projector"
    #: Graph records applied per Redis pipeline round trip.
    batch_records: int = 500
    #: History entries removed per trimmer step (each step is one short Lua call).
    trim_batch: int = 200
    #: Seconds between two trimmer passes.
    trim_interval_s: float = 30.0
