// Camera projections with their Jacobians (FaceParams conventions, face_params.h): a point in
// the camera frame (mm; OpenCV x right, y down, z forward) to pixel (u, v), (0, 0) = centre of
// the top-left pixel.
//   pinhole:           u = f x / z + cx,  v = f y / z + cy        camera = (f, cx, cy), px
//   weak perspective:  u = s x + ox,      v = s y + oy            camera = (s px/mm, ox, oy)
#ifndef MORPHFIT_MATH_CAMERA_H_
#define MORPHFIT_MATH_CAMERA_H_

#include "morphfit/math/hd.h"

namespace morphfit::math {

// uv = projection of point (camera frame). When not null, duv_dpoint (2x3 row-major) and
// duv_dcamera (2x3 row-major, columns = the three camera parameters) receive the Jacobians.
// Pinhole needs z != 0 (callers cull points behind a near plane first).
template <typename T>
MORPHFIT_HD void Project(bool perspective, const T camera[3], const T point[3], T uv[2],
                         T* duv_dpoint, T* duv_dcamera) {
  if (perspective) {
    const T inv_z = T(1) / point[2];
    const T xn = point[0] * inv_z, yn = point[1] * inv_z;
    uv[0] = camera[0] * xn + camera[1];
    uv[1] = camera[0] * yn + camera[2];
    if (duv_dpoint != nullptr) {
      const T fz = camera[0] * inv_z;
      duv_dpoint[0] = fz;   duv_dpoint[1] = T(0); duv_dpoint[2] = -fz * xn;
      duv_dpoint[3] = T(0); duv_dpoint[4] = fz;   duv_dpoint[5] = -fz * yn;
    }
    if (duv_dcamera != nullptr) {
      duv_dcamera[0] = xn; duv_dcamera[1] = T(1); duv_dcamera[2] = T(0);
      duv_dcamera[3] = yn; duv_dcamera[4] = T(0); duv_dcamera[5] = T(1);
    }
  } else {
    uv[0] = camera[0] * point[0] + camera[1];
    uv[1] = camera[0] * point[1] + camera[2];
    if (duv_dpoint != nullptr) {
      duv_dpoint[0] = camera[0]; duv_dpoint[1] = T(0);      duv_dpoint[2] = T(0);
      duv_dpoint[3] = T(0);      duv_dpoint[4] = camera[0]; duv_dpoint[5] = T(0);
    }
    if (duv_dcamera != nullptr) {
      duv_dcamera[0] = point[0]; duv_dcamera[1] = T(1); duv_dcamera[2] = T(0);
      duv_dcamera[3] = point[1]; duv_dcamera[4] = T(0); duv_dcamera[5] = T(1);
    }
  }
}

}  // namespace morphfit::math

#endif  // MORPHFIT_MATH_CAMERA_H_
