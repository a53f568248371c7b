"""Korean text front-end: number and symbol normalisation (G2P to come)."""
