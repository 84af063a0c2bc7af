"""stock-manager: a KIS (Korea Investment & Securities) OpenAPI toolkit.

The client lives in :mod:`stock_manager.adapters.broker.kis`, the local KIS stand-in in
:mod:`stock_manager.sandbox`, the command line in :mod:`stock_manager.cli`.
"""

__version__ = "0.1.0"
