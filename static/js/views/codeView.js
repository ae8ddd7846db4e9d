// @ts-check
/**
 * The code of the loop that actually runs (fetched from the engine), with the current phase's
 * line marked, and what that phase just changed, in words and numbers. A teaching switch that
 * skipped a line shows here: the line is marked skipped, and the words say what really happened.
 */
import { phaseStory } from "./phaseStory.js";

/**
 * @typedef {{file: string, first_line: number, lines: string[],
 *            phases: Record<string, number[]>, main: Record<string, number>}} LoopSource
 */

export class CodeView {
  /** @param {HTMLElement} code @param {HTMLElement} file @param {HTMLElement} result @param {LoopSource} source */
  constructor(code, file, result, source) {
    this.source = source;
    this.result = result;
    file.textContent = `${source.file}, line ${source.first_line}`;
    this.lines = source.lines.map((text) => {
      const line = document.createElement("span");
      line.className = "line";
      // Long lines wrap; a wrapped line continues 4 columns right of its own indentation. The
      // indentation is padding, not spaces: a space is a place to break the line, and a long
      // statement would leave its indentation alone on a line of its own.
      const indent = text.length - text.trimStart().length;
      line.style.paddingLeft = `calc(8px + ${indent + 4}ch)`;
      line.style.textIndent = "-4ch";
      line.textContent = text.trimStart() || " ";
      return line;
    });
    code.replaceChildren(...this.lines);
    /** @type {string} */
    this.marked = "";
  }

  /** @param {import("../protocol.js").Snapshot | null} snapshot @param {string | null} phase */
  render(snapshot, phase) {
    const story = phaseStory(snapshot?.header ?? null, phase);
    const key = `${phase}:${story.skipped}`;
    if (key !== this.marked) {
      this.marked = key;
      const inPhase = new Set(phase ? this.source.phases[phase] ?? [] : []);
      const main = phase ? this.source.main[phase] : -1;
      this.lines.forEach((line, i) => {
        line.classList.toggle("in-phase", inPhase.has(i));
        // A switched-off call did not run: it is not "the current step" of the loop.
        const skipped = story.skipped && i === main;
        line.classList.toggle("skipped", skipped);
        if (i === main && !skipped) line.setAttribute("aria-current", "step");
        else line.removeAttribute("aria-current");
        if (skipped) line.title = "skipped: its teaching switch is off";
        else line.removeAttribute("title");
      });
    }
    this.result.replaceChildren(...story.nodes);
  }
}
