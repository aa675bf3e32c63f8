// A 5x7 bitmap font for ASCII 32..126, so figures can carry labels without a font library.
#pragma once

#include <array>
#include <cstdint>

namespace vk::support {

inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 7;
inline constexpr int kGlyphAdvance = kGlyphWidth + 1;  // one blank column between characters
inline constexpr int kLineAdvance = kGlyphHeight + 2;

// Row r of a glyph has bit (kGlyphWidth - 1 - x) set where column x is inked.
using Glyph = std::array<std::uint8_t, kGlyphHeight>;

// The glyph of c; characters outside 32..126 get '?'.
const Glyph& glyph(char c);

}  // namespace vk::support
