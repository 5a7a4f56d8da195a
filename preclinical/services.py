"""The few things every core operation needs: the clock, the id source and the bus (injectable for tests)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from preclinical.bus import EventBus


def utc_now() -> datetime:
    """Naive UTC, as stored in the database."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Services:
    bus: EventBus
    now: Callable[[], datetime] = utc_now
    rng: random.Random = field(default_factory=random.Random)

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
