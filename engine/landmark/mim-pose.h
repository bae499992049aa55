/* mim-pose.h: placeholder, being written. */
#pragma once
