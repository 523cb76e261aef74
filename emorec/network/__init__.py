"""The networks (Keras architectures, the input blur) and their files: loading, metadata, the LiteRT export."""
