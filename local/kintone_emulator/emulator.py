"""One emulated kintone domain: its stored data, its switches and its webhooks."""

from __future__ import annotations

from dataclasses import dataclass

from .control import Controls
from .store import Store
from .webhooks import Webhooks


@dataclass
class Emulator:
    store: Store
    controls: Controls
    webhooks: Webhooks
    base_url: str = ""  # known once the server is bound; used in webhook payloads

    def reset(self) -> None:
        self.store.reset()
        self.controls.reset()
        self.webhooks.reset()

    def close(self) -> None:
        self.webhooks.close()
        self.store.close()
