"""HTTP + WebSocket API and the web page (`malsori serve`)."""
