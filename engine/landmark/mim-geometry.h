/* mim-geometry.h: placeholder, being written. */
#pragma once
