"""The regulators' console for logistics: each part registers its pages in its own module."""

from __future__ import annotations

from logistics import admin_stock

__all__ = ["admin_stock"]
