#include "workbook/plot.h"

#include "workbook/xml.h"

#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace workbook::plot {
namespace {

// Plot-area margins inside a chart, in pixels.
constexpr double kMarginLeft = 64;
constexpr double kMarginRight = 18;
constexpr double kMarginTop = 34;
constexpr double kMarginBottom = 46;
// Grey levels an image pixel is quantised to (runs of equal level become one rectangle).
constexpr int kGreyLevels = 32;
constexpr const char* kFont = R"(font-family="DejaVu Sans, Helvetica, Arial, sans-serif")";

// A number for an SVG coordinate: one decimal is finer than any screen needs.
std::string num(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  std::string text = buffer;
  if (text == "-0.0") return "0";
  if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0) text.resize(text.size() - 2);
  return text;
}

// A tick label with as many decimals as the tick step needs.
std::string tick_label(double value, double step) {
  char buffer[32];
  const double magnitude = std::max(std::fabs(value), std::fabs(step));
  if (magnitude >= 1e6 || (magnitude > 0 && magnitude < 1e-4)) {
    std::snprintf(buffer, sizeof buffer, "%.3g", value);
  } else {
    const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, std::fabs(value) < step * 1e-9 ? 0.0 : value);
  }
  return buffer;
}

// The "nice" step (1, 2 or 5 times a power of ten) giving about `count` intervals over `span`.
double nice_step(double span, int count) {
  const double raw = span / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / power;
  const double nice = fraction < 1.5 ? 1 : fraction < 3.5 ? 2 : fraction < 7.5 ? 5 : 10;
  return nice * power;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void include(double v) {
    if (std::isfinite(v)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  bool empty() const { return !(lo <= hi); }
};

// Widens an empty or degenerate range and pads it by 5% on both sides.
Range padded(Range r) {
  if (r.empty()) return {0, 1};
  if (r.hi - r.lo < 1e-12 * std::max(1.0, std::fabs(r.lo))) {
    const double half = std::max(0.5, std::fabs(r.lo) * 0.1);
    return {r.lo - half, r.hi + half};
  }
  const double pad = 0.05 * (r.hi - r.lo);
  return {r.lo - pad, r.hi + pad};
}

std::string svg_header(double width, double height) {
  std::ostringstream out;
  out << R"(<?xml version="1.0" encoding="UTF-8"?>)" << "\n"
      << R"(<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width=")" << num(width) << R"(" height=")"
      << num(height) << R"(" viewBox="0 0 )" << num(width) << ' ' << num(height) << R"(">)" << "\n"
      << R"(<rect x="0" y="0" width=")" << num(width) << R"(" height=")" << num(height)
      << R"(" fill="white"/>)" << "\n";
  return out.str();
}

std::string text(double x, double y, const std::string& content, const std::string& anchor, double size,
                 const std::string& extra = {}) {
  std::ostringstream out;
  out << R"(<text x=")" << num(x) << R"(" y=")" << num(y) << R"(" text-anchor=")" << anchor << R"(" font-size=")"
      << num(size) << "\" " << kFont << extra << '>' << escape(content) << "</text>\n";
  return out.str();
}

// Clips the segment p + t d, t in [t0, t1], to the box; false when nothing of it is inside.
bool clip(double px, double py, double dx, double dy, double& t0, double& t1, const Range& xr, const Range& yr) {
  const double p[4] = {-dx, dx, -dy, dy};
  const double q[4] = {px - xr.lo, xr.hi - px, py - yr.lo, yr.hi - py};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0) {
      if (q[i] < 0) return false;
    } else {
      const double t = q[i] / p[i];
      if (p[i] < 0) t0 = std::max(t0, t);
      else t1 = std::min(t1, t);
    }
  }
  return t0 <= t1;
}

}  // namespace

std::string palette(std::size_t index) {
  // Matplotlib's "tab10": distinguishable, and readable by most colour-blind viewers.
  static const char* const kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return kColors[index % (sizeof kColors / sizeof kColors[0])];
}

std::string escape(const std::string& text) { return xml_escape(text); }

void write_file(const std::string& path, const std::string& content) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) {
    throw std::runtime_error("cannot write '" + path + "': " + std::strerror(errno));
  }
  file << content;
  file.close();
  if (!file) throw std::runtime_error("cannot write '" + path + "': writing failed");
}

std::vector<double> values(const torch::Tensor& tensor) {
  const torch::Tensor flat = tensor.detach().cpu().to(torch::kDouble).contiguous().reshape({-1});
  const double* data = flat.data_ptr<double>();
  return std::vector<double>(data, data + flat.numel());
}

std::vector<int64_t> labels(const torch::Tensor& tensor) {
  const torch::Tensor flat = tensor.detach().cpu().to(torch::kLong).contiguous().reshape({-1});
  const int64_t* data = flat.data_ptr<int64_t>();
  return std::vector<int64_t>(data, data + flat.numel());
}

// ----- Chart ---------------------------------------------------------------------------------

Chart::Chart(std::string title, double width, double height)
    : title_(std::move(title)), width_(width), height_(height) {}

Chart& Chart::title(std::string value) { title_ = std::move(value); return *this; }
Chart& Chart::x_label(std::string value) { x_label_ = std::move(value); return *this; }
Chart& Chart::y_label(std::string value) { y_label_ = std::move(value); return *this; }
Chart& Chart::x_range(double lo, double hi) { x_range_ = std::make_pair(lo, hi); return *this; }
Chart& Chart::y_range(double lo, double hi) { y_range_ = std::make_pair(lo, hi); return *this; }
Chart& Chart::log_y(bool on) { log_y_ = on; return *this; }
Chart& Chart::legend(Corner corner) { legend_ = corner; return *this; }

Style Chart::next_style(Style style) {
  if (style.color.empty()) style.color = palette(next_color_++);
  return style;
}

Chart& Chart::scatter(const std::vector<double>& x, const std::vector<double>& y, Style style) {
  if (x.size() != y.size()) {
    throw std::invalid_argument("plot::Chart::scatter: " + std::to_string(x.size()) + " x values but " +
                                std::to_string(y.size()) + " y values");
  }
  elements_.push_back({Kind::kScatter, x, y, next_style(std::move(style))});
  return *this;
}

Chart& Chart::scatter_classes(const std::vector<double>& x, const std::vector<double>& y,
                              const std::vector<int64_t>& classes, const std::vector<std::string>& names) {
  if (x.size() != y.size() || x.size() != classes.size()) {
    throw std::invalid_argument("plot::Chart::scatter_classes: x, y and classes must have the same length");
  }
  int64_t largest = -1;
  for (int64_t c : classes) largest = std::max(largest, c);
  for (int64_t k = 0; k <= largest; ++k) {
    std::vector<double> xs, ys;
    for (std::size_t i = 0; i < classes.size(); ++i) {
      if (classes[i] == k) {
        xs.push_back(x[i]);
        ys.push_back(y[i]);
      }
    }
    if (xs.empty()) continue;
    Style style;
    style.color = palette(static_cast<std::size_t>(k));
    style.label = static_cast<std::size_t>(k) < names.size() ? names[k] : "class " + std::to_string(k);
    elements_.push_back({Kind::kScatter, std::move(xs), std::move(ys), style});
  }
  next_color_ = std::max<std::size_t>(next_color_, static_cast<std::size_t>(largest + 1));
  return *this;
}

Chart& Chart::line(double slope, double intercept, Style style) {
  // y = slope x + intercept  <=>  slope x - y + intercept = 0
  return implicit_line(slope, -1.0, intercept, std::move(style));
}

Chart& Chart::implicit_line(double a, double b, double c, Style style) {
  elements_.push_back({Kind::kImplicitLine, {a, b, c}, {}, next_style(std::move(style))});
  return *this;
}

Chart& Chart::segment(double x0, double y0, double x1, double y1, Style style) {
  elements_.push_back({Kind::kSegment, {x0, x1}, {y0, y1}, next_style(std::move(style))});
  return *this;
}

Chart& Chart::series(const std::vector<double>& x, const std::vector<double>& y, Style style) {
  if (x.size() != y.size()) {
    throw std::invalid_argument("plot::Chart::series: " + std::to_string(x.size()) + " x values but " +
                                std::to_string(y.size()) + " y values");
  }
  elements_.push_back({Kind::kSeries, x, y, next_style(std::move(style))});
  return *this;
}

Chart& Chart::series_by_index(const std::vector<double>& y, Style style, double first_x) {
  std::vector<double> x(y.size());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = first_x + static_cast<double>(i);
  return series(x, y, std::move(style));
}

std::string Chart::svg() const {
  return svg_header(width_, height_) + fragment(0, 0, "chart") + "</svg>\n";
}

void Chart::save(const std::string& path) const { write_file(path, svg()); }

namespace {

/// The stroke attributes of a line drawn in `s`.
std::string stroke(const Style& s) {
  std::string attributes = "fill=\"none\" stroke=\"" + escape(s.color) + "\" stroke-width=\"" + num(s.width) +
                           "\" stroke-linejoin=\"round\" stroke-linecap=\"round\"";
  if (s.dashed) attributes += " stroke-dasharray=\"" + num(4 * s.width) + ',' + num(3 * s.width) + '"';
  return attributes;
}

}  // namespace

struct Chart::Frame {
  bool log_y = false;
  Range xr, yr;  ///< the y range in transformed units: log10(y) on a log axis
  double left = 0, top = 0, plot_w = 0, plot_h = 0;

  double ty(double y) const { return log_y ? (y > 0 ? std::log10(y) : std::numeric_limits<double>::quiet_NaN()) : y; }
  double sx(double x) const { return left + (x - xr.lo) / (xr.hi - xr.lo) * plot_w; }
  double sy(double t) const { return top + (yr.hi - t) / (yr.hi - yr.lo) * plot_h; }

  /// A polyline through data points, broken wherever a point is not finite on this axis. A run
  /// of a single point becomes a zero-length segment: a dot, thanks to the round caps.
  std::string path(const std::vector<double>& xs, const std::vector<double>& ys) const {
    std::ostringstream d;
    std::size_t run = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const double t = ty(ys[i]);
      if (!std::isfinite(xs[i]) || !std::isfinite(t)) {
        if (run == 1) d << " l0 0";
        run = 0;
        continue;
      }
      d << (run > 0 ? " L" : " M") << num(sx(xs[i])) << ' ' << num(sy(t));
      ++run;
    }
    if (run == 1) d << " l0 0";
    return d.str();
  }
};

Chart::Frame Chart::frame() const {
  Frame f;
  f.log_y = log_y_;
  for (const Element& e : elements_) {
    if (e.kind == Kind::kImplicitLine) continue;  // lines span whatever the data decides
    for (std::size_t i = 0; i < e.x.size(); ++i) {
      if (std::isfinite(e.x[i]) && std::isfinite(f.ty(e.y[i]))) {
        f.xr.include(e.x[i]);
        f.yr.include(f.ty(e.y[i]));
      }
    }
  }
  f.xr = x_range_ ? Range{x_range_->first, x_range_->second} : padded(f.xr);
  if (y_range_) {
    f.yr = {f.ty(y_range_->first), f.ty(y_range_->second)};
    if (f.yr.empty()) f.yr = padded(Range{});
  } else {
    f.yr = padded(f.yr);
  }
  f.left = kMarginLeft;
  f.top = kMarginTop + (title_.empty() ? -12 : 0);
  f.plot_w = std::max(10.0, width_ - kMarginLeft - kMarginRight);
  f.plot_h = std::max(10.0, height_ - f.top - kMarginBottom);
  return f;
}

std::string Chart::grid(const Frame& f) const {
  std::ostringstream out, labels_out;
  out << R"(<g stroke="#e0e0e0" stroke-width="1">)" << "\n";
  const auto horizontal = [&](double t) {
    out << "<line x1=\"" << num(f.left) << "\" y1=\"" << num(f.sy(t)) << "\" x2=\"" << num(f.left + f.plot_w)
        << "\" y2=\"" << num(f.sy(t)) << "\"/>\n";
  };
  const double x_step = nice_step(f.xr.hi - f.xr.lo, 6);
  for (double t = std::ceil(f.xr.lo / x_step) * x_step; t <= f.xr.hi + 1e-9 * x_step; t += x_step) {
    out << "<line x1=\"" << num(f.sx(t)) << "\" y1=\"" << num(f.top) << "\" x2=\"" << num(f.sx(t)) << "\" y2=\""
        << num(f.top + f.plot_h) << "\"/>\n";
    labels_out << text(f.sx(t), f.top + f.plot_h + 16, tick_label(t, x_step), "middle", 11);
  }
  if (log_y_) {
    // Ticks at powers of ten, plus 2x and 5x when the axis spans less than three decades.
    const bool fine = f.yr.hi - f.yr.lo < 3;
    for (double decade = std::floor(f.yr.lo); decade <= std::ceil(f.yr.hi); decade += 1) {
      for (double m : {1.0, 2.0, 5.0}) {
        if (m != 1.0 && !fine) continue;
        const double t = decade + std::log10(m);
        if (t < f.yr.lo - 1e-9 || t > f.yr.hi + 1e-9) continue;
        horizontal(t);
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "%g", std::pow(10.0, t));
        labels_out << text(f.left - 6, f.sy(t) + 4, buffer, "end", 11);
      }
    }
  } else {
    const double y_step = nice_step(f.yr.hi - f.yr.lo, 5);
    for (double t = std::ceil(f.yr.lo / y_step) * y_step; t <= f.yr.hi + 1e-9 * y_step; t += y_step) {
      horizontal(t);
      labels_out << text(f.left - 6, f.sy(t) + 4, tick_label(t, y_step), "end", 11);
    }
  }
  out << "</g>\n" << labels_out.str();
  return out.str();
}

std::string Chart::data(const Frame& f, const std::string& id) const {
  std::ostringstream out;
  out << "<g clip-path=\"url(#" << escape(id) << "-area)\">\n";
  for (const Element& e : elements_) {
    switch (e.kind) {
      case Kind::kScatter: {
        out << "<g fill=\"" << escape(e.style.color) << "\" fill-opacity=\"" << std::clamp(e.style.opacity, 0.0, 1.0)
            << "\" stroke=\"none\">\n";
        for (std::size_t i = 0; i < e.x.size(); ++i) {
          const double t = f.ty(e.y[i]);
          if (!std::isfinite(e.x[i]) || !std::isfinite(t)) continue;
          out << "<circle cx=\"" << num(f.sx(e.x[i])) << "\" cy=\"" << num(f.sy(t)) << "\" r=\"" << num(e.style.radius)
              << "\"/>\n";
        }
        out << "</g>\n";
        break;
      }
      case Kind::kImplicitLine: {
        const double a = e.x[0], b = e.x[1], c = e.x[2];
        if (!(std::isfinite(a) && std::isfinite(b) && std::isfinite(c)) || (a == 0 && b == 0)) break;
        // The point of the line closest to the origin, and its direction; clipped in data units.
        const double norm2 = a * a + b * b;
        const double px = -a * c / norm2, py = -b * c / norm2, dx = -b, dy = a;
        Range yd = f.yr;  // the visible y range in data units
        if (log_y_) yd = {std::pow(10.0, f.yr.lo), std::pow(10.0, f.yr.hi)};
        double t0 = -std::numeric_limits<double>::infinity(), t1 = std::numeric_limits<double>::infinity();
        if (!clip(px, py, dx, dy, t0, t1, f.xr, yd)) break;
        std::vector<double> xs, ys;
        const int pieces = log_y_ ? 200 : 1;  // a straight line bends on a log axis
        for (int i = 0; i <= pieces; ++i) {
          const double t = t0 + (t1 - t0) * i / pieces;
          xs.push_back(px + t * dx);
          ys.push_back(py + t * dy);
        }
        out << "<path d=\"" << f.path(xs, ys) << "\" " << stroke(e.style) << "/>\n";
        break;
      }
      case Kind::kSegment:
      case Kind::kSeries:
        out << "<path d=\"" << f.path(e.x, e.y) << "\" " << stroke(e.style) << "/>\n";
        break;
    }
  }
  out << "</g>\n";
  return out.str();
}

std::string Chart::titles(const Frame& f) const {
  std::string out;
  if (!title_.empty()) out += text(f.left + f.plot_w / 2, 22, title_, "middle", 15, R"( font-weight="bold")");
  if (!x_label_.empty()) out += text(f.left + f.plot_w / 2, f.top + f.plot_h + 36, x_label_, "middle", 12);
  if (!y_label_.empty()) {
    const double cx = 16, cy = f.top + f.plot_h / 2;
    out += text(cx, cy, y_label_, "middle", 12, " transform=\"rotate(-90 " + num(cx) + ' ' + num(cy) + ")\"");
  }
  return out;
}

std::string Chart::legend_box(const Frame& f) const {
  std::vector<const Element*> entries;
  for (const Element& e : elements_) {
    if (!e.style.label.empty()) entries.push_back(&e);
  }
  if (entries.empty()) return {};
  std::size_t longest = 0;
  for (const Element* e : entries) longest = std::max(longest, e->style.label.size());
  const double row = 17, box_w = 34 + 6.5 * static_cast<double>(longest), box_h = row * entries.size() + 8;
  const bool at_left = legend_ == Corner::kTopLeft || legend_ == Corner::kBottomLeft;
  const bool at_top = legend_ == Corner::kTopLeft || legend_ == Corner::kTopRight;
  const double bx = at_left ? f.left + 8 : f.left + f.plot_w - box_w - 8;
  const double by = at_top ? f.top + 8 : f.top + f.plot_h - box_h - 8;
  std::ostringstream out;
  out << "<rect x=\"" << num(bx) << "\" y=\"" << num(by) << "\" width=\"" << num(box_w) << "\" height=\""
      << num(box_h) << R"(" fill="white" fill-opacity="0.85" stroke="#bbb" stroke-width="1" rx="3"/>)" << "\n";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Element& e = *entries[i];
    const double cy = by + 4 + row * (static_cast<double>(i) + 0.5);
    if (e.kind == Kind::kScatter) {
      out << "<circle cx=\"" << num(bx + 14) << "\" cy=\"" << num(cy) << "\" r=\"4\" fill=\"" << escape(e.style.color)
          << "\"/>\n";
    } else {
      out << "<path d=\"M" << num(bx + 5) << ' ' << num(cy) << " L" << num(bx + 23) << ' ' << num(cy) << "\" "
          << stroke(e.style) << "/>\n";
    }
    out << text(bx + 29, cy + 4, e.style.label, "start", 11);
  }
  return out.str();
}

std::string Chart::fragment(double ox, double oy, const std::string& id) const {
  const Frame f = frame();
  std::ostringstream out;
  out << R"(<g transform="translate()" << num(ox) << ',' << num(oy) << ")\">\n";
  out << "<defs><clipPath id=\"" << escape(id) << "-area\"><rect x=\"" << num(f.left) << "\" y=\"" << num(f.top)
      << "\" width=\"" << num(f.plot_w) << "\" height=\"" << num(f.plot_h) << "\"/></clipPath></defs>\n";
  out << grid(f);
  out << "<rect x=\"" << num(f.left) << "\" y=\"" << num(f.top) << "\" width=\"" << num(f.plot_w) << "\" height=\""
      << num(f.plot_h) << R"(" fill="none" stroke="#444" stroke-width="1"/>)" << "\n";
  out << data(f, id) << titles(f) << legend_box(f) << "</g>\n";
  return out.str();
}

// ----- Figure --------------------------------------------------------------------------------

Figure::Figure(std::string title) : title_(std::move(title)) {}

Figure& Figure::add(Chart chart) {
  charts_.push_back(std::move(chart));
  return *this;
}

std::string Figure::svg() const {
  const double title_h = title_.empty() ? 0 : 30;
  double width = 0, height = 0;
  for (const Chart& c : charts_) {
    width += c.width();
    height = std::max(height, c.height());
  }
  width = std::max(width, 100.0);
  std::string body = svg_header(width, height + title_h);
  if (!title_.empty()) body += text(width / 2, 22, title_, "middle", 16, R"( font-weight="bold")");
  double x = 0;
  for (std::size_t i = 0; i < charts_.size(); ++i) {
    body += charts_[i].fragment(x, title_h, "chart" + std::to_string(i));
    x += charts_[i].width();
  }
  return body + "</svg>\n";
}

void Figure::save(const std::string& path) const { write_file(path, svg()); }

// ----- Images --------------------------------------------------------------------------------

Image image_from_tensor(const torch::Tensor& image, std::string caption, std::string frame) {
  torch::Tensor t = image.detach().cpu().to(torch::kDouble);
  if (t.dim() == 3 && t.size(0) == 1) t = t.squeeze(0);
  if (t.dim() != 2) {
    throw std::invalid_argument("plot::image_from_tensor: expected an image of shape [H, W] or [1, H, W] but got " +
                                std::to_string(image.dim()) + " dimensions");
  }
  // Rescale [min, max] to [0, 1] so that normalised pixels draw as they look.
  const double lo = t.min().item<double>(), hi = t.max().item<double>();
  t = hi > lo ? (t - lo) / (hi - lo) : torch::zeros_like(t);
  Image result;
  result.rows = t.size(0);
  result.cols = t.size(1);
  result.pixels = values(t);
  result.caption = std::move(caption);
  result.frame = std::move(frame);
  return result;
}

ImageGrid::ImageGrid(std::string title) : title_(std::move(title)) {}

ImageGrid& ImageGrid::columns(int count) {
  columns_ = std::max(1, count);
  return *this;
}

ImageGrid& ImageGrid::scale(double pixels_per_pixel) {
  scale_ = pixels_per_pixel > 0 ? pixels_per_pixel : 1.0;
  return *this;
}

ImageGrid& ImageGrid::invert(bool on) {
  invert_ = on;
  return *this;
}

ImageGrid& ImageGrid::add(Image image) {
  if (image.rows < 0 || image.cols < 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.rows * image.cols)) {
    throw std::invalid_argument("plot::ImageGrid::add: " + std::to_string(image.pixels.size()) +
                                " pixels for an image of " + std::to_string(image.rows) + " x " +
                                std::to_string(image.cols));
  }
  images_.push_back(std::move(image));
  return *this;
}

std::string ImageGrid::svg() const {
  constexpr double kGap = 8;
  int64_t max_rows = 1, max_cols = 1;
  bool captions = false;
  for (const Image& image : images_) {
    max_rows = std::max(max_rows, image.rows);
    max_cols = std::max(max_cols, image.cols);
    captions = captions || !image.caption.empty();
  }
  const double cell_w = static_cast<double>(max_cols) * scale_;
  const double cell_h = static_cast<double>(max_rows) * scale_ + (captions ? 15 : 0);
  const std::size_t cols = std::max<std::size_t>(1, std::min<std::size_t>(columns_, images_.size()));
  const std::size_t rows = (images_.size() + cols - 1) / cols;
  const double title_h = title_.empty() ? 0 : 30;
  const double width = std::max(kGap + cols * (cell_w + kGap), title_.empty() ? 0.0 : 8.0 * title_.size());
  const double height = title_h + kGap + rows * (cell_h + kGap);

  // Grey level of a pixel value as a CSS colour, after quantising and optional inversion.
  const auto grey = [this](int level) {
    int g = static_cast<int>(std::lround(255.0 * level / kGreyLevels));
    if (invert_) g = 255 - g;
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x", g, g, g);
    return std::string(buffer);
  };

  std::ostringstream out;
  out << svg_header(width, height);
  if (!title_.empty()) out << text(width / 2, 22, title_, "middle", 15, R"( font-weight="bold")");
  for (std::size_t n = 0; n < images_.size(); ++n) {
    const Image& image = images_[n];
    const double x0 = kGap + static_cast<double>(n % cols) * (cell_w + kGap);
    const double y0 = title_h + kGap + static_cast<double>(n / cols) * (cell_h + kGap);
    const double w = static_cast<double>(image.cols) * scale_, h = static_cast<double>(image.rows) * scale_;
    out << "<g shape-rendering=\"crispEdges\">\n<rect x=\"" << num(x0) << "\" y=\"" << num(y0) << "\" width=\"" << num(w) << "\" height=\""
        << num(h) << "\" fill=\"" << grey(0) << "\"/>\n";
    // One path per grey level, one unit square run per row segment of that level, drawn in image
    // pixel units (the transform scales them): compact, and exact with crisp edges.
    std::vector<std::string> runs(kGreyLevels + 1);
    for (int64_t r = 0; r < image.rows; ++r) {
      const auto level_at = [&](int64_t col) {
        double v = image.pixels[static_cast<std::size_t>(r * image.cols + col)];
        v = std::isfinite(v) ? std::clamp(v, 0.0, 1.0) : 0.0;
        return static_cast<int>(std::lround(v * kGreyLevels));
      };
      int64_t c = 0;
      while (c < image.cols) {
        const int level = level_at(c);
        int64_t end = c + 1;
        while (end < image.cols && level_at(end) == level) ++end;
        if (level != 0) {  // the background level is already drawn
          runs[static_cast<std::size_t>(level)] += "M" + std::to_string(c) + ' ' + std::to_string(r) + 'h' +
                                                   std::to_string(end - c) + "v1h-" + std::to_string(end - c) + 'z';
        }
        c = end;
      }
    }
    out << "<g transform=\"translate(" << num(x0) << ',' << num(y0) << ") scale(" << scale_ << ")\">\n";
    for (int level = 1; level <= kGreyLevels; ++level) {
      if (!runs[static_cast<std::size_t>(level)].empty()) {
        out << "<path fill=\"" << grey(level) << "\" d=\"" << runs[static_cast<std::size_t>(level)] << "\"/>\n";
      }
    }
    out << "</g>\n";
    if (!image.frame.empty()) {
      out << "<rect x=\"" << num(x0 - 1.5) << "\" y=\"" << num(y0 - 1.5) << "\" width=\"" << num(w + 3)
          << "\" height=\"" << num(h + 3) << "\" fill=\"none\" stroke=\"" << escape(image.frame)
          << "\" stroke-width=\"2\"/>\n";
    }
    if (!image.caption.empty()) out << text(x0 + w / 2, y0 + h + 12, image.caption, "middle", 10);
    out << "</g>\n";
  }
  out << "</svg>\n";
  return out.str();
}

void ImageGrid::save(const std::string& path) const { write_file(path, svg()); }

ImageGrid misclassified_grid(const std::string& title, const torch::Tensor& raw_images, const torch::Tensor& labels,
                             const torch::Tensor& predictions, const std::function<std::string(int64_t)>& name,
                             int64_t limit) {
  const auto wrong = predictions.ne(labels).nonzero().view(-1).cpu();
  const auto truth = labels.cpu(), guess = predictions.cpu();
  ImageGrid grid(title + ": " + std::to_string(wrong.size(0)) + " of " + std::to_string(labels.size(0)) +
                 " (true -> predicted)");
  grid.columns(10).scale(3).invert();
  for (int64_t i = 0; i < std::min<int64_t>(wrong.size(0), limit); ++i) {
    const int64_t k = wrong[i].item<int64_t>();
    grid.add(image_from_tensor(raw_images[k], name(truth[k].item<int64_t>()) + " -> " + name(guess[k].item<int64_t>()),
                               "#d62728"));
  }
  return grid;
}

}  // namespace workbook::plot
