"""Speaker encoders: a fixed-size voice embedding per recording (cosine similarity compares voices)."""
