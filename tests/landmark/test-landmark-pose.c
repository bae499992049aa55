/* test-landmark-pose.c: placeholder, being written. */
#include "mim-test.h"
int main(int argc, char **argv)
{
    mt_init(argc, argv);
    return mt_done();
}
