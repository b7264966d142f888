// The "Your progress" page: fills the table `xtask quiz-text` wrote (one row
// per quiz in the book) from what mdbook-quiz keeps in localStorage, and
// resets quizzes. Keys go through the course's scoping in theme/head.hbs.
(function () {
  const table = document.getElementById('quiz-progress');
  if (!table) return;
  const rows = [...table.querySelectorAll('tbody tr')];
  const key = (row) => 'mdbook-quiz:' + row.dataset.quiz;

  // What mdbook-quiz 0.5 stores when a quiz is finished:
  // { answers: [{ answer, correct, ... }], confirmedDone, quizHash, attempt }.
  function stored(row) {
    try {
      const s = JSON.parse(localStorage.getItem(key(row)));
      return s && Array.isArray(s.answers) && s.answers.length > 0 ? s : null;
    } catch {
      return null;
    }
  }

  function show() {
    let answered = 0, right = 0, questions = 0;
    for (const row of rows) {
      const total = Number(row.dataset.questions);
      const s = stored(row);
      const status = row.querySelector('.quiz-status');
      const score = row.querySelector('.quiz-score');
      questions += total;
      if (s) {
        const correct = s.answers.filter((a) => a && a.correct).length;
        answered += 1;
        right += correct;
        status.textContent = 'answered';
        score.textContent = `${correct}/${total}`;
      } else {
        status.textContent = 'not answered';
        score.textContent = '–';
      }
      row.querySelector('.quiz-reset').disabled = !s;
    }
    document.getElementById('quiz-reset-all').disabled = answered === 0;
    document.getElementById('quiz-progress-summary').textContent =
      `${answered} of ${rows.length} quizzes answered; ${right} of ${questions} questions right.`;
  }

  for (const row of rows) {
    row.querySelector('.quiz-reset').addEventListener('click', () => {
      localStorage.removeItem(key(row));
      show();
    });
  }
  document.getElementById('quiz-reset-all').addEventListener('click', () => {
    if (!window.confirm('Forget your answers to every quiz?')) return;
    for (const row of rows) localStorage.removeItem(key(row));
    show();
  });
  // Answers given in another tab show up when this one is looked at again.
  window.addEventListener('storage', show);
  document.addEventListener('visibilitychange', show);
  show();
})();
