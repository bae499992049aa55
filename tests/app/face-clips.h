/* face-clips.h: placeholder, being written. */
#pragma once
