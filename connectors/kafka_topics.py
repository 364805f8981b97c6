"""The topics the router reads and writes, created with the configured partition count before
anything else can create them: a topic a producer or consumer touches first is auto-created
with the broker's default partitions (often 1 or 4), which then caps how far the workers can
scale out, and cannot be lowered afterwards."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from connectors.exceptions import BrokerUnavailable
from router._aiokafka_fix import install_aiokafka_metadata_fix


async def ensure_topics(bootstrap: str, names: Sequence[str], partitions: int, replicas: int,
                        timeout: float = 30.0) -> dict[str, int]:
    """Create the topics that do not exist yet; answers each topic's partition count (an
    existing topic keeps its own)."""
    install_aiokafka_metadata_fix()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap,
                                request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        existing = set(await asyncio.wait_for(admin.list_topics(), timeout))
        missing = [name for name in dict.fromkeys(names) if name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker's, meanwhile
                await asyncio.wait_for(admin.create_topics(
                    [NewTopic(name, partitions, replicas) for name in missing]), timeout)
        described = await asyncio.wait_for(admin.describe_topics(list(dict.fromkeys(names))),
                                           timeout)
    except (TimeoutError, KafkaError, OSError) as exc:
        raise BrokerUnavailable(f"topics not checked: {exc!r}") from exc
    finally:
        await admin.close()
    return {str(topic["topic"]): len(topic["partitions"]) for topic in described}
