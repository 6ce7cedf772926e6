"""Faithful knowledge distillation: a teacher and its student as one network, certified.

`joint_network` combines the pair; `faithfulness` certifies agreement and bounds the
confidence gap on test points; `core.training` trains students (methods kd, adv-kd,
faithful-kd).
"""
