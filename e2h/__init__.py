"""e2h: Easy-to-Hard Generalization (Sun et al., NeurIPS 2024), as a thin package under numbered notebooks."""

__version__ = "0.1.0"
