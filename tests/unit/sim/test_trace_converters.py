from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbon_kube.cli.app import main
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.intensity import to_epoch_s
from carbon_kube.domain.zones import Zone
from carbon_kube.sim.job_trace import to_policy_jobs, to_workloads, write_jobs_csv
from carbon_kube.sim.traces import (
    AlibabaUnit,
    ConvertOptions,
    SwimModel,
    TimeUnit,
    convert_alibaba_batch,
    convert_gaia,
    convert_swim,
    parse_slack,
)

START = datetime(2022, 3, 1, tzinfo=UTC)
HOUR_S = 3600
MIB = 1024**2


def write(tmp_path: Path, text: str, name: str = "trace.csv") -> Path:
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


# --- GAIA -------------------------------------------------------------------------------------


def test_gaia_hours_become_calendar_seconds_from_the_chosen_start(tmp_path: Path) -> None:
    path = write(tmp_path, "arrival_time,length,cpus\n0.0,1.5,2\n0.25,0.0001,1\n")
    table = convert_gaia(path, ConvertOptions(start=START)).table
    assert list(table.submit_s - to_epoch_s(START)) == [0, 900]
    # 0.0001 h is 0.36 s: rounded to whole seconds but never below one.
    assert list(table.duration_s) == [5400, 1]
    assert list(table.cpus) == [2.0, 1.0]


def test_gaia_default_slack_is_six_hours_below_two_hours_and_a_day_otherwise(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "arrival_time,length,cpus\n0,1.999,1\n0,2.0,1\n")
    table = convert_gaia(path, ConvertOptions(start=START)).table
    assert table.deadline_s is not None
    waits = table.deadline_s - table.submit_s - table.duration_s
    assert list(waits) == [6 * HOUR_S, 24 * HOUR_S]


def test_gaia_seconds_unit_reads_pai_1k_style_files(tmp_path: Path) -> None:
    path = write(tmp_path, "arrival_time,length,cpus\n68.0,1000.0,1\n")
    table = convert_gaia(path, ConvertOptions(start=START), time_unit=TimeUnit.SECONDS).table
    assert list(table.submit_s - to_epoch_s(START)) == [68]
    assert list(table.duration_s) == [1000]


def test_gaia_lengths_beyond_a_thousand_hours_suggest_the_seconds_unit(tmp_path: Path) -> None:
    path = write(tmp_path, "arrival_time,length,cpus\n0,1,1\n0,6302,1\n")
    with pytest.raises(InputError) as caught:
        convert_gaia(path, ConvertOptions())
    assert caught.value.line == 3
    assert "--time-unit seconds" in caught.value.message


@pytest.mark.parametrize(
    ("row", "field"),
    [("x,1,1", "arrival_time"), ("0,,1", "length"), ("0,1,0", "cpus"), ("-1,1,1", "arrival_time")],
)
def test_gaia_malformed_row_names_file_line_and_field(tmp_path: Path, row: str, field: str) -> None:
    path = write(tmp_path, f"arrival_time,length,cpus\n0,1,1\n{row}\n")
    with pytest.raises(InputError) as caught:
        convert_gaia(path, ConvertOptions())
    assert caught.value.render().startswith(f"{path}:3: field '{field}': ")


def test_gaia_file_with_another_header_says_what_it_expected(tmp_path: Path) -> None:
    path = write(tmp_path, "time,dur,cores\n0,1,1\n")
    with pytest.raises(InputError, match="arrival_time,length,cpus"):
        convert_gaia(path, ConvertOptions())


def test_missing_input_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        convert_gaia(tmp_path / "nope.csv", ConvertOptions())


def test_limit_keeps_the_earliest_jobs_by_submit_time(tmp_path: Path) -> None:
    path = write(tmp_path, "arrival_time,length,cpus\n3,1,1\n1,1,1\n2,1,1\n")
    table = convert_gaia(path, ConvertOptions(start=START, limit=2)).table
    assert list(table.job_id) == ["trace-1", "trace-2"]


# --- slack rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "want_waits_s"),
    [
        ("gaia", [6 * HOUR_S, 24 * HOUR_S]),
        ("gaia:1h,2h,3h", [HOUR_S, 2 * HOUR_S]),
        ("90m", [5400, 5400]),
        ("2x", [2 * HOUR_S, 6 * HOUR_S]),
    ],
)
def test_slack_rules_set_the_waiting_limit(spec: str, want_waits_s: list[int]) -> None:
    durations = np.array([HOUR_S, 3 * HOUR_S], dtype=np.int64)
    waits = parse_slack(spec).max_delay_s(durations)
    assert waits is not None
    assert list(waits) == want_waits_s


def test_slack_none_writes_no_deadline_column(tmp_path: Path) -> None:
    path = write(tmp_path, "arrival_time,length,cpus\n0,1,1\n")
    table = convert_gaia(path, ConvertOptions(slack=parse_slack("none"))).table
    assert table.deadline_s is None


@pytest.mark.parametrize("spec", ["soon", "6", "gaia:6h", "-2x"])
def test_unknown_slack_rule_is_an_input_error_naming_the_option(spec: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_slack(spec)
    assert caught.value.field == "--slack"


# --- SWIM --------------------------------------------------------------------------------------


def test_swim_model_sizes_a_map_only_job_from_its_input_bytes(tmp_path: Path) -> None:
    # 1280 MiB of input: 10 map tasks of 128 MiB at 50 MiB/s each -> 2.56 s, plus 15 s start-up.
    path = write(tmp_path, f"job0\t10\t10\t{1280 * MIB}\t0\t0\n", name="fb.tsv.gz")
    table = convert_swim(path, ConvertOptions(start=START)).table
    want_duration_s = 15 + 1280 / (10 * 50)
    assert list(table.duration_s) == [round(want_duration_s)]
    want_vcpu_s = 15 + 10 * 1280 / (10 * 50)
    assert table.cpus[0] * table.duration_s[0] == pytest.approx(want_vcpu_s)
    assert table.memory_gib is not None
    assert table.memory_gib[0] == pytest.approx(2 * table.cpus[0])
    assert list(table.submit_s - to_epoch_s(START)) == [10]


def test_swim_reduce_phase_uses_one_vcpu_per_gib_of_shuffle() -> None:
    model = SwimModel(overhead_s=0)
    shuffle = np.array([4096.0 * MIB])
    duration_s, cpus = model.size_jobs(np.array([128.0 * MIB]), shuffle, np.array([0.0]))
    map_s = 128 / 50
    reduce_s = 4096 / (4 * 20)
    assert duration_s[0] == pytest.approx(map_s + reduce_s)
    assert cpus[0] == pytest.approx((map_s + 4 * reduce_s) / (map_s + reduce_s))


def test_swim_row_with_too_many_fields_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, "job0\t1\t1\t1\t1\t1\njob1\t2\t1\t1\t1\t1\t9\n", name="fb.tsv")
    with pytest.raises(InputError, match="7 fields, more than the 6") as caught:
        convert_swim(path, ConvertOptions())
    assert caught.value.line == 2


def test_swim_row_with_a_missing_field_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "job0\t1\t1\t1\t1\t1\njob1\t2\t1\t1\t1\n", name="fb.tsv")
    with pytest.raises(InputError, match="5 fields, fewer than the 6") as caught:
        convert_swim(path, ConvertOptions())
    assert caught.value.line == 2


# --- Alibaba -----------------------------------------------------------------------------------

ALIBABA_HEADER = "task_name,task_count,job_id,none1,status,start_time,end_time,none2,none3\n"


def test_alibaba_job_spans_its_tasks_and_keeps_their_core_seconds(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ALIBABA_HEADER
        + "M1,2,j_1,1,Terminated,100,200,100,0.5\n"  # 2 cores x 100 s
        + "R2_1,1,j_1,1,Terminated,200,500,50,0.5\n"  # 0.5 core x 300 s
        + "M1,1,j_2,1,Terminated,50,50,100,0.5\n",  # same second: lasts 1 s
    )
    result = convert_alibaba_batch(path, ConvertOptions(start=START))
    table = result.table
    assert list(table.job_id) == ["j_2", "j_1"]
    assert list(table.submit_s - to_epoch_s(START)) == [50, 100]
    assert list(table.duration_s) == [1, 400]
    assert table.cpus[1] * 400 == pytest.approx(2 * 100 + 0.5 * 300)
    assert table.memory_gib is None


def test_alibaba_tasks_with_machine_memory_convert_plan_mem_to_gib(tmp_path: Path) -> None:
    path = write(tmp_path, ALIBABA_HEADER + "M1,4,j_1,1,Terminated,0,60,100,0.5\n")
    table = convert_alibaba_batch(
        path, ConvertOptions(), unit=AlibabaUnit.TASK, machine_memory_gib=400.0
    ).table
    assert list(table.job_id) == ["j_1-M1"]
    assert table.cpus[0] == 4.0
    assert table.memory_gib is not None
    assert table.memory_gib[0] == pytest.approx(4 * 0.5 / 100 * 400)


def test_alibaba_unfinished_and_unrequested_tasks_are_skipped_and_counted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ALIBABA_HEADER
        + "M1,1,j_1,1,Running,100,0,100,0.5\n"
        + "M1,1,j_2,1,Terminated,100,200,,\n"
        + "M1,1,j_3,1,Terminated,100,200,100,0.5\n",
    )
    result = convert_alibaba_batch(path, ConvertOptions())
    assert list(result.table.job_id) == ["j_3"]
    assert result.skipped == {"unfinished (end_time 0)": 1, "no CPU request": 1}


def test_alibaba_task_ending_before_it_starts_is_malformed(tmp_path: Path) -> None:
    path = write(tmp_path, ALIBABA_HEADER + "M1,1,j_1,1,Terminated,100,90,100,0.5\n")
    with pytest.raises(InputError) as caught:
        convert_alibaba_batch(path, ConvertOptions())
    assert (caught.value.line, caught.value.field) == (2, "end_time")


# --- the CSV contract and the command ----------------------------------------------------------


def test_written_csv_follows_the_contract_with_rfc3339_utc_times(tmp_path: Path) -> None:
    path = write(tmp_path, "arrival_time,length,cpus\n0.5,1,2\n")
    options = ConvertOptions(
        start=START, zone=Zone("DE"), allowed_zones=(Zone("FR"), Zone("GB")), interruptible=True
    )
    out = tmp_path / "jobs.csv"
    write_jobs_csv(convert_gaia(path, options).table, out)
    lines = out.read_text().splitlines()
    assert lines[0] == (
        "job_id,submit_time,duration_s,cpus,deadline,zone,allowed_zones,interruptible,kind"
    )
    assert lines[1] == (
        "trace-0,2022-03-01T00:30:00Z,3600,2,2022-03-01T07:30:00Z,DE,FR;GB,true,job"
    )
    assert not list(tmp_path.glob(".*partial"))


def test_converted_jobs_become_domain_workloads(tmp_path: Path) -> None:
    path = write(tmp_path, "arrival_time,length,cpus\n0,1,2\n")
    (workload,) = to_workloads(
        convert_gaia(path, ConvertOptions(start=START)).table, default_zone=Zone("FR")
    )
    assert workload.submit_at == START
    assert workload.latest_start == START + timedelta(hours=6)
    assert workload.home_zone == "FR"


def test_convert_command_writes_the_file_and_exits_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "arrival_time,length,cpus\n0,1,2\n1,3,1\n")
    out = tmp_path / "jobs.csv"
    argv = ["traces", "convert", "--format", "gaia", "--input", str(path), "--out", str(out)]
    with pytest.raises(SystemExit) as done:
        main([*argv, "--start", "2022-03-01", "--zone", "DE", "--slack", "2x"])
    assert done.value.code == 0
    frame = pd.read_csv(out)
    assert list(frame["deadline"]) == ["2022-03-01T03:00:00Z", "2022-03-01T10:00:00Z"]


def test_convert_command_reports_a_bad_row_in_one_line_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "arrival_time,length,cpus\n0,1,2\n0,1,two\n")
    out = tmp_path / "jobs.csv"
    argv = ["traces", "convert", "--format", "gaia", "--input", str(path), "--out", str(out)]
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {path}:3: field 'cpus': expected a finite number, got 'two'"
    assert not out.exists()


# --- the real traces ---------------------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("name", "want_rows", "want_median_h", "want_mean_h"),
    [("pai-100k.csv.gz", 99_998, 0.66, 2.27), ("azure-100k.csv.gz", 99_988, 0.58, 3.83)],
)
def test_real_gaia_traces_keep_every_row_and_their_published_lengths(
    shared_data: Path, name: str, want_rows: int, want_median_h: float, want_mean_h: float
) -> None:
    result = convert_gaia(shared_data / "gaia-job-traces" / name, ConvertOptions(start=START))
    table = result.table
    assert len(table) == result.rows_read == want_rows
    # SOURCE.md: median and mean length in hours, and arrivals spanning one year.
    assert np.median(table.duration_s) / HOUR_S == pytest.approx(want_median_h, abs=0.005)
    assert np.mean(table.duration_s) / HOUR_S == pytest.approx(want_mean_h, abs=0.005)
    span_h = (table.submit_s.max() - table.submit_s.min()) / HOUR_S
    assert 8750 < span_h < 8760
    assert np.all(np.diff(table.submit_s) >= 0)


@pytest.mark.shared_data
def test_real_pai_1k_trace_reads_in_seconds(shared_data: Path) -> None:
    path = shared_data / "gaia-job-traces" / "pai_1k.csv"
    table = convert_gaia(path, ConvertOptions(), time_unit=TimeUnit.SECONDS).table
    assert len(table) == 1000
    assert int(table.duration_s.min()) == 303
    assert int(table.duration_s.max()) == 214_787


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("name", "want_rows"),
    [
        ("FB-2009_samples_24_times_1hr_0.tsv.gz", 5_894),
        ("FB-2009_samples_24_times_1hr_1.tsv.gz", 6_638),
        ("FB-2010_samples_24_times_1hr_0.tsv.gz", 24_442),
    ],
)
def test_real_swim_workloads_convert_every_job_within_one_day(
    shared_data: Path, name: str, want_rows: int
) -> None:
    table = convert_swim(shared_data / "swim-facebook-mapreduce" / name, ConvertOptions()).table
    assert len(table) == want_rows
    assert (table.submit_s.max() - table.submit_s.min()) <= 86_410
    assert float(table.cpus.max()) <= SwimModel().max_parallel_vcpus
    assert int(table.duration_s.min()) >= round(SwimModel().overhead_s)


@pytest.mark.shared_data
def test_real_alibaba_sample_skips_only_documented_gaps(shared_data: Path) -> None:
    path = shared_data / "pcaps-alibaba-dag-sample" / "sorted_batch_task.csv.gz"
    by_task = convert_alibaba_batch(path, ConvertOptions(), unit=AlibabaUnit.TASK)
    # SOURCE.md: 17,996 rows; 121 unfinished (end_time 0); empty CPU requests on some others.
    assert by_task.rows_read == 17_996
    assert by_task.skipped["unfinished (end_time 0)"] == 121
    assert len(by_task.table) + sum(by_task.skipped.values()) == 17_996
    by_job = convert_alibaba_batch(path, ConvertOptions())
    assert len(by_job.table) == len({job.split("-")[0] for job in by_task.table.job_id})
    # Per-job aggregation keeps the requested core-seconds of the tasks.
    assert by_job.table.cpu_hours() == pytest.approx(by_task.table.cpu_hours(), rel=1e-9)
    assert len(by_job.table) <= 6_420


def test_converted_jobs_become_the_policies_columnar_table(tmp_path: Path) -> None:
    path = write(tmp_path, "arrival_time,length,cpus\n0,1,2\n0.5,3,1\n")
    options = ConvertOptions(start=START, zone=Zone("FR"), allowed_zones=(Zone("DE"),))
    jobs = to_policy_jobs(convert_gaia(path, options).table, [Zone("DE"), Zone("FR")])
    assert list(jobs.home_zone) == [1, 1]
    assert jobs.allowed.tolist() == [[True, True], [True, True]]
    assert list(jobs.deadline_s - jobs.submit_s) == [7 * 3600, 27 * 3600]


def test_policy_table_refuses_a_zone_without_intensity_data(tmp_path: Path) -> None:
    path = write(tmp_path, "arrival_time,length,cpus\n0,1,2\n")
    table = convert_gaia(path, ConvertOptions(zone=Zone("GB"))).table
    with pytest.raises(KeyError, match="trace-0: zone GB"):
        to_policy_jobs(table, [Zone("DE")])
