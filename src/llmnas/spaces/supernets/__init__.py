"""Weight-sharing supernets (SPOS ShuffleNetV2, OFA MobileNetV3, AutoFormer) and their evaluators."""
