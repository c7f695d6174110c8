#pragma once
/// \file
/// Small standalone SVG pictures for the exercise programs: scatter plots with classes, fitted
/// lines and decision boundaries, loss and accuracy curves, and grids of small grey-scale images.
/// No dependency beyond the standard library (and LibTorch for the tensor helpers); every file is a
/// complete SVG 1.1 document that browsers, editors and `rsvg-convert` open as is.
///
///     workbook::plot::Chart chart("Linear fit");
///     chart.x_label("x").y_label("y")
///          .scatter(workbook::plot::values(x), workbook::plot::values(y), {"#1f77b4", "data"})
///          .line(/*slope=*/2.0, /*intercept=*/-1.0, {"#d62728", "fit", 2.0});
///     chart.save("fit.svg");  // throws std::runtime_error naming the path if it cannot be written
///
///     workbook::plot::Chart loss("Training loss");
///     loss.log_y().series_by_index(losses, {"#2ca02c", "train"});   // x = 1, 2, ..., losses.size()
///
///     workbook::plot::ImageGrid grid("Misclassified digits");
///     grid.add(workbook::plot::image_from_tensor(images[i], "7 -> 1"));
///     grid.save("mistakes.svg");

#include <torch/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace workbook::plot {

/// The i-th colour of a palette of ten distinguishable colours (CSS "#rrggbb"); wraps around.
std::string palette(std::size_t index);

/// How one element of a chart looks, and what its legend entry says (no entry when label is empty).
struct Style {
  std::string color;         ///< CSS colour; empty picks the next palette colour
  std::string label;         ///< legend text; empty leaves the element out of the legend
  double width = 1.5;        ///< stroke width of lines and curves, in pixels
  double radius = 2.5;       ///< radius of scatter markers, in pixels
  double opacity = 0.8;      ///< opacity of scatter markers (lines are drawn opaque)
  bool dashed = false;       ///< draw lines and curves dashed
};

/// Where a chart's legend goes, inside the plot area.
enum class Corner { kTopRight, kTopLeft, kBottomRight, kBottomLeft };

/// One chart: axes with ticks, a title, axis labels, a legend, and any number of scatter
/// sets, infinite lines and curves. Ranges fit the data (scatter points and curves) unless set.
/// Non-finite values (NaN, inf) are skipped, never drawn.
class Chart {
 public:
  explicit Chart(std::string title = {}, double width = 640, double height = 420);

  Chart& title(std::string text);
  Chart& x_label(std::string text);
  Chart& y_label(std::string text);
  /// Fixes the x range instead of fitting it to the data.
  Chart& x_range(double lo, double hi);
  /// Fixes the y range instead of fitting it to the data.
  Chart& y_range(double lo, double hi);
  /// A logarithmic y axis (values <= 0 are skipped): the natural scale for a loss curve.
  Chart& log_y(bool on = true);
  /// Puts the legend in another corner (default: top right) so that it hides no data.
  Chart& legend(Corner corner);

  /// Points (x[i], y[i]); x and y must have the same length (else std::invalid_argument).
  Chart& scatter(const std::vector<double>& x, const std::vector<double>& y, Style style = {});
  /// Points coloured by class: classes[i] in 0..K-1 picks palette(classes[i]) and the legend
  /// entry names[classes[i]] (or "class k" when names is shorter).
  Chart& scatter_classes(const std::vector<double>& x, const std::vector<double>& y,
                         const std::vector<int64_t>& classes, const std::vector<std::string>& names = {});
  /// The infinite line y = slope * x + intercept, clipped to the chart (a fitted line).
  Chart& line(double slope, double intercept, Style style = {});
  /// The infinite line a * x + b * y + c = 0, clipped to the chart; also vertical ones
  /// (a decision boundary w1 x1 + w2 x2 + b = 0). Nothing is drawn when a = b = 0.
  Chart& implicit_line(double a, double b, double c, Style style = {});
  /// The segment from (x0, y0) to (x1, y1).
  Chart& segment(double x0, double y0, double x1, double y1, Style style = {});
  /// A curve through (x[i], y[i]) in order (same lengths, else std::invalid_argument).
  Chart& series(const std::vector<double>& x, const std::vector<double>& y, Style style = {});
  /// A curve through (first_x, y[0]), (first_x + 1, y[1]), ...: a loss per epoch or per step.
  Chart& series_by_index(const std::vector<double>& y, Style style = {}, double first_x = 1);

  double width() const { return width_; }
  double height() const { return height_; }

  /// The complete SVG document.
  std::string svg() const;
  /// Writes svg() to `path`; throws std::runtime_error naming the path when it cannot be written.
  void save(const std::string& path) const;

  /// The chart as an SVG fragment placed at (x, y), for Figure; `id` must be unique in the
  /// document (it names the chart's clip path). Not needed otherwise.
  std::string fragment(double x, double y, const std::string& id) const;

 private:
  enum class Kind { kScatter, kImplicitLine, kSegment, kSeries };
  struct Element {
    Kind kind;
    std::vector<double> x, y;  // scatter/series points; line coefficients live in x
    Style style;
  };
  Style next_style(Style style);
  /// Where one drawing puts the data: the plot area and the axes' ranges (plot.cpp).
  struct Frame;
  Frame frame() const;
  std::string grid(const Frame& f) const;              ///< grid lines and tick labels
  std::string data(const Frame& f, const std::string& id) const;  ///< the elements, clipped
  std::string titles(const Frame& f) const;            ///< title and axis labels
  std::string legend_box(const Frame& f) const;        ///< the labelled elements, in the legend's corner

  std::string title_, x_label_, y_label_;
  double width_, height_;
  std::optional<std::pair<double, double>> x_range_, y_range_;
  bool log_y_ = false;
  Corner legend_ = Corner::kTopRight;
  std::vector<Element> elements_;
  std::size_t next_color_ = 0;
};

/// Several charts side by side in one picture (for example the loss and the accuracy curve).
class Figure {
 public:
  explicit Figure(std::string title = {});
  Figure& add(Chart chart);
  std::string svg() const;
  /// Writes svg() to `path`; throws std::runtime_error naming the path when it cannot be written.
  void save(const std::string& path) const;

 private:
  std::string title_;
  std::vector<Chart> charts_;
};

/// A small grey-scale image: rows x cols values in [0, 1], row-major, 0 = black and 1 = white
/// (values outside are clamped). `caption` is written under it and `frame` (a CSS colour, empty
/// for none) is drawn around it, e.g. red around a misclassified digit.
struct Image {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<double> pixels;
  std::string caption;
  std::string frame;
};

/// An Image from a tensor of shape [H, W] or [1, H, W] on any device and of any dtype. Values are
/// rescaled from [min, max] of the image to [0, 1] (so normalised MNIST pixels work as they are);
/// a constant image becomes black. Throws std::invalid_argument for other shapes.
Image image_from_tensor(const torch::Tensor& image, std::string caption = {}, std::string frame = {});

/// A grid of images, `columns` per row (default 10), each pixel drawn as a `scale` x `scale` square
/// (default 3), with their captions. Set invert(true) for dark ink on white paper.
class ImageGrid {
 public:
  explicit ImageGrid(std::string title = {});
  ImageGrid& columns(int count);
  ImageGrid& scale(double pixels_per_pixel);
  ImageGrid& invert(bool on = true);
  /// Adds an image; throws std::invalid_argument when pixels.size() != rows * cols.
  ImageGrid& add(Image image);
  std::size_t size() const { return images_.size(); }

  std::string svg() const;
  /// Writes svg() to `path`; throws std::runtime_error naming the path when it cannot be written.
  void save(const std::string& path) const;

 private:
  std::string title_;
  int columns_ = 10;
  double scale_ = 3.0;
  bool invert_ = false;
  std::vector<Image> images_;
};

/// The misclassified ones of `raw_images` ([N, H, W]): up to `limit` of those whose prediction
/// differs from the label, framed in red and captioned "<name(label)> -> <name(prediction)>", 10
/// per row, dark on white, under the title "<title>: <wrong> of <N> (true -> predicted)".
ImageGrid misclassified_grid(const std::string& title, const torch::Tensor& raw_images, const torch::Tensor& labels,
                             const torch::Tensor& predictions, const std::function<std::string(int64_t)>& name,
                             int64_t limit = 100);

/// The values of a tensor of any shape, dtype and device, flattened into doubles.
std::vector<double> values(const torch::Tensor& tensor);
/// The values of an integer (or bool) tensor, flattened: class labels for scatter_classes.
std::vector<int64_t> labels(const torch::Tensor& tensor);

/// Writes `text` to `path`; throws std::runtime_error("cannot write '<path>': <reason>") on failure.
void write_file(const std::string& path, const std::string& text);

/// Escapes &, <, >, " and ' for use in SVG text and attribute values (workbook::xml_escape).
std::string escape(const std::string& text);

}  // namespace workbook::plot
