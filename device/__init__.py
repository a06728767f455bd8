"""Live streaming from Bluetooth Low Energy wearables (not yet built)."""
