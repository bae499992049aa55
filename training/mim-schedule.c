/* mim-schedule.c: learning-rate schedules (MODEL.md §5). */
#include "mim-schedule.h"

double mim_schedule_lambda(int epoch, int decay_start, int n_epochs)
{
    int over = epoch + 1 - decay_start;
    if (over < 0)
        over = 0;
    int span = n_epochs - decay_start + 1;
    if (span < 1)
        span = 1;
    return 1.0 - (double)over / (double)span;
}
