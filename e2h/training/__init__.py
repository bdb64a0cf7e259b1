"""Training: one loop for the policy and the reward models (``loop``), multi-process launch (``launch``), the tiny
base's pretraining (``pretrain``), SFT and reward-model examples (``sft_data``, ``reward_data``), and checkpoint
selection (``selection``). Nothing here knows a run folder: the stages say where data comes from and goes."""
