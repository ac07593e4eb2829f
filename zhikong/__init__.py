"""Command-line entry point of Zhikong (招引智控)."""
