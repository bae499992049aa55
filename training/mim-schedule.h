/* mim-schedule.h: learning-rate schedules (MODEL.md §5). */
#pragma once

/* ADLD's "lambda" schedule: the learning-rate factor for 0-based epoch `epoch` of `n_epochs`,
 * constant 1 up to `decay_start` epochs, then falling linearly: with decay_start 5 and 10 epochs,
 * 1 for epochs 0..4, then 5/6, 4/6, ..., 1/6 at epoch 9. */
double mim_schedule_lambda(int epoch, int decay_start, int n_epochs);
