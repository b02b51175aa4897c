"""Reusable Keras models, one module per family (cnn, text, rnn, gan, bert)."""
