"""Reusable Keras models, one module per family (cnn, text, gan, bert)."""
